//! Dial plan: request-URI user part -> application or bridge target.
