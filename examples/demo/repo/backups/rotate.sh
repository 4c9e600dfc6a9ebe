#!/usr/bin/env sh
# Keeps the newest fourteen backups.
ls -1t backups/*.tar.gz 2>/dev/null | tail -n +15
