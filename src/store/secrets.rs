//! Secrets kept outside the event log: remote tokens and API keys, encrypted at rest with
//! AES-256-GCM under the ledger's key, in the `secrets` table. Events carry a
//! [`SecretRef`]: the row's id and a keyed fingerprint that tells whether a value changed,
//! never the value. Nothing here puts a value into an error message or a log line.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

pub use crate::domain::secret::SecretRef;

/// The 256-bit key that encrypts every secret. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the secret key must be 64 hexadecimal digits (for example `openssl rand -hex 32`)")]
    Malformed,
    #[error("reading the secret key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing a new secret key to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SecretKey {
    /// A key written as 64 hexadecimal digits (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(Self(bytes))
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self(Aes256Gcm::generate_key(OsRng).into())
    }

    fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key given as text, else the one in `file`; when the file does not exist yet, a
    /// new key is written there (readable by its owner only). Returns the key and, when it
    /// was just generated, where it is kept.
    pub fn load_or_create(
        text: Option<&str>,
        file: &Path,
    ) -> Result<(Self, Option<PathBuf>), KeyError> {
        if let Some(text) = text {
            return Ok((Self::parse(text)?, None));
        }
        match std::fs::read_to_string(file) {
            Ok(text) => Ok((Self::parse(&text)?, None)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                write_private(file, &key.to_hex()).map_err(|source| KeyError::Write {
                    path: file.to_path_buf(),
                    source,
                })?;
                Ok((key, Some(file.to_path_buf())))
            }
            Err(source) => Err(KeyError::Read {
                path: file.to_path_buf(),
                source,
            }),
        }
    }
}

/// Where a generated key is kept when no file is named: the user's data directory.
pub fn default_key_file() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("marketplace-ledger").join("secret.key")
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.write_all(b"\n")
}

/// Why a secret could not be stored or read. The messages never hold a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("no secret key is configured (LEDGER_SECRET_KEY)")]
    NoKey,
    #[error("the secret could not be encrypted")]
    Encrypt,
    #[error("the stored secret {0} is missing")]
    Missing(Uuid),
    #[error("the stored secret {0} cannot be decrypted with this ledger's secret key")]
    Undecryptable(Uuid),
    #[error("the secrets table: {0}")]
    Database(#[from] sqlx::Error),
}

/// The encrypted secrets of one database.
#[derive(Clone)]
pub struct Secrets {
    pool: PgPool,
    key: Option<SecretKey>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("key", &self.key.as_ref().map(|_| "…"))
            .finish()
    }
}

impl Secrets {
    pub fn new(pool: PgPool, key: Option<SecretKey>) -> Self {
        Self { pool, key }
    }

    fn key(&self) -> Result<&SecretKey, SecretError> {
        self.key.as_ref().ok_or(SecretError::NoKey)
    }

    fn cipher(&self) -> Result<Aes256Gcm, SecretError> {
        Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key()?.0)))
    }

    /// A fingerprint of `value` keyed with the ledger's key: equal values give equal
    /// fingerprints, and without the key it tells nothing about the value.
    pub fn fingerprint(&self, value: &str) -> Result<String, SecretError> {
        let mut hasher = Sha256::new();
        hasher.update(b"marketplace-ledger secret fingerprint\0");
        hasher.update(self.key()?.0);
        hasher.update(value.as_bytes());
        Ok(hex::encode(&hasher.finalize()[..8]))
    }

    /// Encrypts and stores `value` for its owner; returns the reference events carry.
    pub async fn store(
        &self,
        owner_kind: &str,
        owner_uuid: Uuid,
        value: &str,
    ) -> Result<SecretRef, SecretError> {
        let cipher = self.cipher()?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(&nonce, value.as_bytes())
            .map_err(|_| SecretError::Encrypt)?;
        let id = Uuid::new_v4();
        sqlx::query(
            "INSERT INTO secrets (id, owner_kind, owner_uuid, nonce, ciphertext) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(owner_kind)
        .bind(owner_uuid)
        .bind(nonce.as_slice())
        .bind(ciphertext)
        .execute(&self.pool)
        .await?;
        Ok(SecretRef {
            id,
            fingerprint: self.fingerprint(value)?,
        })
    }

    /// The value of a stored secret.
    pub async fn reveal(&self, id: Uuid) -> Result<String, SecretError> {
        let cipher = self.cipher()?;
        let row: Option<(Vec<u8>, Vec<u8>)> =
            sqlx::query_as("SELECT nonce, ciphertext FROM secrets WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (nonce, ciphertext) = row.ok_or(SecretError::Missing(id))?;
        if nonce.len() != 12 {
            return Err(SecretError::Undecryptable(id));
        }
        let plain = cipher
            .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
            .map_err(|_| SecretError::Undecryptable(id))?;
        String::from_utf8(plain).map_err(|_| SecretError::Undecryptable(id))
    }

    /// Deletes a secret; deleting one that is gone is not an error.
    pub async fn delete(&self, id: Uuid) -> Result<(), SecretError> {
        sqlx::query("DELETE FROM secrets WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes every secret of an owner except `keep` (the one its newest event names).
    pub async fn delete_others(
        &self,
        owner_kind: &str,
        owner_uuid: Uuid,
        keep: Option<Uuid>,
    ) -> Result<(), SecretError> {
        sqlx::query(
            "DELETE FROM secrets WHERE owner_kind = $1 AND owner_uuid = $2 \
             AND ($3::uuid IS NULL OR id <> $3)",
        )
        .bind(owner_kind)
        .bind(owner_uuid)
        .bind(keep)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_64_hex_digits() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::parse(&key.to_hex()).unwrap(), key);
        assert!(SecretKey::parse(&format!(" {}\n", key.to_hex())).is_ok());
        assert!(matches!(SecretKey::parse("abc"), Err(KeyError::Malformed)));
        assert!(matches!(
            SecretKey::parse(&"zz".repeat(32)),
            Err(KeyError::Malformed)
        ));
        assert_eq!(format!("{key:?}"), "SecretKey(…)");
    }

    #[test]
    fn a_missing_key_file_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("ledger-key-{}", Uuid::new_v4()));
        let file = dir.join("nested").join("secret.key");
        let (first, created) = SecretKey::load_or_create(None, &file).unwrap();
        assert_eq!(created.as_deref(), Some(file.as_path()));
        let (second, created) = SecretKey::load_or_create(None, &file).unwrap();
        assert_eq!(created, None);
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_given_as_text_wins_over_the_file() {
        let key = SecretKey::generate();
        let (loaded, created) =
            SecretKey::load_or_create(Some(&key.to_hex()), Path::new("/nonexistent/key")).unwrap();
        assert_eq!(loaded, key);
        assert_eq!(created, None);
    }
}
