// Package capsules builds and renders context capsules, the Markdown briefs
// an assignment hands to whoever starts a work item, and keeps them in a
// content-addressed blob store.
//
// It knows nothing of the database: workflow gathers the state a capsule
// shows into a Data value, this package applies the guardian's embedding
// policy to the files, renders the template and stores the result. Keeping it
// free of SQL lets the same renderer serve any store.
package capsules
