#!/bin/bash
# Each step is its own process, so a step that needs a session keyring it
# possesses starts one itself:  keyctl session - bash -c '...'
set -e
echo "keyctl: $(keyctl --version | head -1); $(wc -l < /proc/keys) keys visible"
