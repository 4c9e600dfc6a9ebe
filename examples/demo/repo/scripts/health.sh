#!/usr/bin/env sh
# The repository is healthy when its audit chain verifies.
exec orchestrate audit verify
