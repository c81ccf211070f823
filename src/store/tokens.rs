//! API tokens as the ledger keeps them: a token is shown to its owner once, and only its
//! SHA-256 hash enters an event or a read model, so the log never holds a usable credential.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// SHA-256 of a token, hex encoded: the only form in which tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random API token: 40 lowercase hex characters, like Waldur's.
pub fn new_token() -> String {
    let mut token = Uuid::new_v4().simple().to_string();
    token.push_str(&Uuid::new_v4().simple().to_string());
    token.truncate(40);
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_forty_hex_characters_and_unique() {
        let a = new_token();
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_token());
    }

    #[test]
    fn the_hash_does_not_contain_the_token() {
        let token = new_token();
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token));
    }
}
