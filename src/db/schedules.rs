//! Working hours and time off.
