//! Call applications: event-driven state machines over media commands and events.
