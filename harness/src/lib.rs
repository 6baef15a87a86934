//! # alipay-harness: conformance checks for merchant `my.getPhoneNumber` decryption endpoints
#![warn(missing_docs)]

pub mod merchant;
