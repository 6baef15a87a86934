//! Conformance harness (built in its own issue).
