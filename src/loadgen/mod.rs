//! Load generator and the test user agent it is built from.
