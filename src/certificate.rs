//! The TLS listener's identity (contract item 13): a certificate chain and its private key,
//! read from PEM files or made self-signed at start-up, and the SHA-256 fingerprint that lets
//! a user check, out of band, that the certificate a client is shown is the server's.
//!
//! Everything that can go wrong here goes wrong at start-up, with an error naming the file:
//! a file that cannot be read, holds no certificate or key, or whose key does not belong to
//! the certificate.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

/// The names a self-signed certificate is made for: what a client on this machine connects to.
pub const SELF_SIGNED_NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// Where a certificate chain and its key are kept (`--tls-cert`, `--tls-key`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityFiles {
    /// PEM certificates: the server's first, then the ones that certify it, in order.
    pub cert: PathBuf,
    /// The PEM private key of the first certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A certificate chain and the key of its first certificate, checked to belong together.
#[derive(Debug)]
pub struct Identity {
    /// The chain, the server's own certificate first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key of `chain[0]`.
    pub key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Reads the chain and key from `files`, and checks with `provider` that the key can sign
    /// and is the certificate's.
    pub fn load(files: &IdentityFiles, provider: &CryptoProvider) -> io::Result<Identity> {
        let cert_pem = read(&files.cert)?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                invalid(
                    &files.cert,
                    format_args!("not a PEM certificate chain: {e}"),
                )
            })?;
        if chain.is_empty() {
            return Err(invalid(&files.cert, format_args!("holds no certificate")));
        }
        let key = PrivateKeyDer::from_pem_slice(&read(&files.key)?)
            .map_err(|e| invalid(&files.key, format_args!("holds no PEM private key: {e}")))?;
        CertifiedKey::from_der(chain.clone(), key.clone_key(), provider).map_err(|e| {
            invalid(
                &files.key,
                format_args!(
                    "is not the key of the certificate in {}: {e}",
                    files.cert.display()
                ),
            )
        })?;
        Ok(Identity { chain, key })
    }

    /// A new self-signed certificate for [`SELF_SIGNED_NAMES`], with a new ECDSA P-256 key.
    pub fn self_signed() -> io::Result<Identity> {
        let names = SELF_SIGNED_NAMES.map(String::from).to_vec();
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| io::Error::other(format!("cannot make a TLS certificate: {e}")))?;
        Ok(Identity {
            chain: vec![made.cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()).into(),
        })
    }

    /// The SHA-256 fingerprint of the server's own certificate, as `AB:CD:...`: what
    /// `openssl x509 -fingerprint -sha256` prints for it.
    pub fn fingerprint(&self) -> String {
        let der = self.chain.first().map_or(&[][..], |cert| cert.as_ref());
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut text = String::with_capacity(digest.as_ref().len() * 3);
        for (index, byte) in digest.as_ref().iter().enumerate() {
            let separator = if index == 0 { "" } else { ":" };
            // Writing to a String cannot fail.
            let _ = write!(text, "{separator}{byte:02X}");
        }
        text
    }
}

/// The whole of `path`, or an error naming it.
fn read(path: &Path) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// An error that says what is wrong with the file at `path`.
fn invalid(path: &Path, what: std::fmt::Arguments<'_>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} {what}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    use rustls::RootCertStore;
    use std::sync::Arc;

    fn provider() -> CryptoProvider {
        rustls::crypto::ring::default_provider()
    }

    /// Writes `identity` as the PEM files a user would supply.
    fn write_files(dir: &Path, made: &rcgen::CertifiedKey<rcgen::KeyPair>) -> IdentityFiles {
        let files = IdentityFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, made.cert.pem()).unwrap();
        std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
        files
    }

    #[test]
    fn a_self_signed_certificate_is_valid_for_localhost_and_127_0_0_1() {
        let identity = Identity::self_signed().unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(identity.chain[0].clone()).unwrap();
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::new(provider()))
                .build()
                .unwrap();
        for name in SELF_SIGNED_NAMES {
            let name = ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&identity.chain[0], &[], &name, &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("not valid for {name:?}: {e}"));
        }
        let other = ServerName::try_from("example.com").unwrap();
        assert!(verifier
            .verify_server_cert(&identity.chain[0], &[], &other, &[], UnixTime::now())
            .is_err());
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_certificate_in_openssl_form() {
        let identity = Identity {
            chain: vec![CertificateDer::from(b"abc".to_vec())],
            key: PrivatePkcs8KeyDer::from(Vec::new()).into(),
        };
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            identity.fingerprint(),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:\
             B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn a_certificate_and_its_key_load_from_pem_files() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["chat.example".into()]).unwrap();
        let files = write_files(dir.path(), &made);
        let identity = Identity::load(&files, &provider()).unwrap();
        assert_eq!(identity.chain, [made.cert.der().clone()]);
    }

    #[test]
    fn files_that_cannot_be_used_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let files = write_files(dir.path(), &made);
        let error = |files: &IdentityFiles| Identity::load(files, &provider()).unwrap_err();

        let missing = IdentityFiles {
            cert: dir.path().join("nowhere.pem"),
            ..files.clone()
        };
        let message = error(&missing).to_string();
        assert!(message.contains("nowhere.pem"), "{message}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "hello\n").unwrap();
        let message = error(&IdentityFiles {
            cert: garbage.clone(),
            ..files.clone()
        })
        .to_string();
        assert!(
            message.contains("garbage.pem") && message.contains("no certificate"),
            "{message}"
        );
        let message = error(&IdentityFiles {
            key: garbage,
            ..files.clone()
        })
        .to_string();
        assert!(
            message.contains("garbage.pem") && message.contains("no PEM private key"),
            "{message}"
        );

        let stranger = rcgen::KeyPair::generate().unwrap();
        let other_key = dir.path().join("other-key.pem");
        std::fs::write(&other_key, stranger.serialize_pem()).unwrap();
        let message = error(&IdentityFiles {
            key: other_key,
            ..files
        })
        .to_string();
        assert!(
            message.contains("other-key.pem") && message.contains("is not the key of"),
            "{message}"
        );
    }
}
