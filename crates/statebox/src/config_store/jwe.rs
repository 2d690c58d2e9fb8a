//! The legacy config store: a JWE compact token, `alg: dir`, `enc: A128GCM`.
//!
//! The original tool used the raw UTF-8 bytes of `OAR_JWK` as the content
//! key, so the key is those bytes and must be exactly 16 of them. Tokens made
//! by python-jose <= 3.3 carry a 16-byte IV, newer ones the standard 12 bytes;
//! both decrypt. The AAD is the protected header segment exactly as received
//! (RFC 7516 5.2 step 14), not a re-encoding of the parsed header.

use aes_gcm::aead::consts::U16;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, Payload};
use aes_gcm::aes::Aes128;
use aes_gcm::{Aes128Gcm, AesGcm};
use age::secrecy::{ExposeSecret, SecretSlice, SecretString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::ConfigStoreError;

/// AES-GCM with the 16-byte nonce python-jose <= 3.3 used.
type Aes128Gcm16 = AesGcm<Aes128, U16>;

const KEY_LEN: usize = 16;
const TAG_LEN: usize = 16;
/// The header our encryptor writes; `{"alg":"dir","enc":"A128GCM"}`.
const HEADER: &str = r#"{"alg":"dir","enc":"A128GCM"}"#;

/// Whether `bytes` look like a JWE compact token: five base64url segments.
pub(crate) fn looks_like_jwe(bytes: &[u8]) -> bool {
    let text = bytes.trim_ascii();
    !text.is_empty()
        && text.iter().filter(|&&b| b == b'.').count() == 4
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn content_key(jwk: &SecretString) -> Result<&[u8], ConfigStoreError> {
    let key = jwk.expose_secret().as_bytes();
    if key.len() != KEY_LEN {
        return Err(ConfigStoreError::JwkLength(key.len()));
    }
    Ok(key)
}

fn segment(text: &str, name: &'static str) -> Result<Vec<u8>, ConfigStoreError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| ConfigStoreError::JweMalformed(name))
}

/// Decrypts a legacy token with the raw key bytes of `jwk`.
pub(crate) fn decrypt(
    token: &[u8],
    jwk: &SecretString,
) -> Result<SecretSlice<u8>, ConfigStoreError> {
    let text = std::str::from_utf8(token.trim_ascii())
        .map_err(|_| ConfigStoreError::JweMalformed("token"))?;
    let [header_b64, encrypted_key, iv, ciphertext, tag]: [&str; 5] = text
        .split('.')
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| ConfigStoreError::JweMalformed("token"))?;

    let header: serde_json::Value = serde_json::from_slice(&segment(header_b64, "header")?)
        .map_err(|_| ConfigStoreError::JweMalformed("header"))?;
    let field = |name| header.get(name).and_then(|v| v.as_str()).unwrap_or("");
    if field("alg") != "dir" {
        return Err(ConfigStoreError::JweAlg(field("alg").to_owned()));
    }
    if field("enc") != "A128GCM" {
        return Err(ConfigStoreError::JweEnc(field("enc").to_owned()));
    }
    // A compressed payload would decrypt to DEFLATE bytes that then fail as
    // YAML with a confusing message; the original never compressed.
    if header.get("zip").is_some() {
        return Err(ConfigStoreError::JweMalformed(
            "header (zip is not supported)",
        ));
    }
    if !encrypted_key.is_empty() {
        return Err(ConfigStoreError::JweMalformed(
            "encrypted key (must be empty for alg dir)",
        ));
    }

    let key = content_key(jwk)?;
    let iv = segment(iv, "IV")?;
    let mut sealed = segment(ciphertext, "ciphertext")?;
    let tag = segment(tag, "authentication tag")?;
    if tag.len() != TAG_LEN {
        return Err(ConfigStoreError::JweMalformed("authentication tag"));
    }
    sealed.extend_from_slice(&tag);
    let payload = Payload {
        msg: &sealed,
        aad: header_b64.as_bytes(),
    };
    let plaintext = match iv.len() {
        12 => Aes128Gcm::new_from_slice(key)
            .expect("key length checked")
            .decrypt(iv.as_slice().into(), payload),
        16 => Aes128Gcm16::new_from_slice(key)
            .expect("key length checked")
            .decrypt(iv.as_slice().into(), payload),
        _ => {
            return Err(ConfigStoreError::JweMalformed(
                "IV (must be 12 or 16 bytes)",
            ));
        }
    }
    .map_err(|_| ConfigStoreError::JweDecrypt)?;
    Ok(plaintext.into())
}

/// Encrypts `plaintext` as a current-style token (12-byte IV), so a legacy
/// store stays legacy when it is edited.
pub(crate) fn encrypt(plaintext: &[u8], jwk: &SecretString) -> Result<Vec<u8>, ConfigStoreError> {
    let cipher = Aes128Gcm::new_from_slice(content_key(jwk)?).expect("key length checked");
    let iv = Aes128Gcm::generate_nonce(aes_gcm::aead::OsRng);
    let header_b64 = URL_SAFE_NO_PAD.encode(HEADER);
    let mut sealed = cipher
        .encrypt(
            &iv,
            Payload {
                msg: plaintext,
                aad: header_b64.as_bytes(),
            },
        )
        .expect("AES-GCM encryption of an in-memory buffer cannot fail");
    let tag = sealed.split_off(sealed.len() - TAG_LEN);
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(&sealed),
        URL_SAFE_NO_PAD.encode(tag)
    )
    .into_bytes())
}
