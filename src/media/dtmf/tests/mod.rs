use super::*;

mod digit;
