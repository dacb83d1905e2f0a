//! Identifier advice: which field to match devices on, and how healthy a
//! candidate identifier is in a real data set. (Filled in with the catalog.)
