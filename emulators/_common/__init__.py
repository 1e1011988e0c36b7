"""Plumbing the emulators share: the stdlib HTTP server and handle (`http`), the `python -m` launch
(`launch`) and seeded fault injection (`faults`). Each emulator's behaviour stays in its own folder."""
