//! Wiring: starts the SIP, media and HTTP parts from a configuration.
