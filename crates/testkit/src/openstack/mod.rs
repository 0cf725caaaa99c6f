//! OpenStack emulator.
