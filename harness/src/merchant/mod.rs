//! Merchants for testing the harness itself: the correct reference merchant and deliberately
//! broken ones.
