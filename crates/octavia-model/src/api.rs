//! Wire types of the Octavia v2 and Neutron APIs (filled by the emulator work).
