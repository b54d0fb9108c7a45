//! TLS to the PostgreSQL server: rustls with the *ring* provider (pure
//! Rust and C/assembly built by cargo: no system OpenSSL), handed to the
//! `postgres` crate through `tokio-postgres-rustls`, which also gives the
//! server's certificate hash for SCRAM channel binding
//! (`SCRAM-SHA-256-PLUS`). Which check runs is decided from `sslmode` in
//! `conn` (the connection settings); here it is carried out:
//!
//! - [`Check::None`] (`prefer`, `require` without `sslrootcert`): any
//!   certificate is accepted, but the handshake signature is still checked
//!   against it, so channel binding still proves there is no
//!   man-in-the-middle relaying the password exchange.
//! - [`Check::Chain`] (`verify-ca`, `require` with `sslrootcert`): the
//!   certificate must chain to a trusted root, be in its validity period
//!   and be meant for a TLS server; its names are not looked at.
//! - [`Check::Full`] (`verify-full`): all of that, and the host name (or
//!   IP address) connected to must be one the certificate names.

use crate::exit::{Status, fail};
use anyhow::Result;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The system's store (`/etc/ssl/certs`, or `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR`), through rustls-native-certs.
    System,
    /// A PEM file of CA certificates (`sslrootcert=FILE`).
    File(PathBuf),
}

/// What is checked of the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Nothing but the handshake signature (see the module docs).
    None,
    /// The chain to `Roots`, not the name.
    Chain(Roots),
    /// The chain to `Roots` and the host name.
    Full(Roots),
}

/// The connector for `postgres::Config::connect`. The roots are loaded
/// here, so only a connection that checks certificates pays for them.
pub fn connector(check: &Check) -> Result<MakeRustlsConnect> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(Status::Store, format!("TLS set-up failed: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::None => Arc::new(Lenient {
            roots: None,
            provider,
        }),
        Check::Chain(roots) => Arc::new(Lenient {
            roots: Some(Arc::new(load_roots(roots)?)),
            provider,
        }),
        Check::Full(roots) => {
            WebPkiServerVerifier::builder_with_provider(Arc::new(load_roots(roots)?), provider)
                .build()
                .map_err(|e| fail(Status::Store, format!("TLS set-up failed: {e}")))?
        }
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // As libpq 17 does: needed by a server that takes TLS directly
    // (`sslnegotiation=direct`, PostgreSQL 17), ignored by older ones.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(MakeRustlsConnect::new(config))
}

/// The trusted roots; none usable is an error naming where they were
/// looked for (a bad `sslrootcert` file is the operator's to fix: exit 2;
/// a machine without system roots cannot reach the store securely: exit 7).
fn load_roots(roots: &Roots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let certs = read_pem_certs(path).map_err(|why| {
                fail(
                    Status::Usage,
                    format!("sslrootcert {}: {why}", path.display()),
                )
            })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(fail(
                    Status::Usage,
                    format!(
                        "sslrootcert {}: no usable CA certificate in it",
                        path.display()
                    ),
                ));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map_or("none found".to_string(), |e| e.to_string());
                return Err(fail(
                    Status::Store,
                    format!(
                        "no system CA certificates to check its certificate with ({why}); \
                         install ca-certificates or name the server's CA with sslrootcert=FILE"
                    ),
                ));
            }
        }
    }
    Ok(store)
}

/// Every certificate of a PEM file, or why there is none.
fn read_pem_certs(path: &Path) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// `prefer` and `require` without roots (`roots` None): any certificate;
/// `verify-ca` (`roots` Some): the chain, validity and purpose as webpki
/// checks them for `verify-full`, without the name. Either way the
/// handshake signature must be a real one by the certificate's key.
#[derive(Debug)]
struct Lenient {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::status_of;

    #[test]
    fn a_missing_or_empty_root_file_is_a_usage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = connector(&Check::Full(Roots::File(missing.clone())))
            .err()
            .unwrap();
        assert_eq!(status_of(&e), Status::Usage);
        assert!(e.to_string().contains("nope.pem"), "{e}");
        assert!(e.to_string().contains("cannot read"), "{e}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = connector(&Check::Chain(Roots::File(empty))).err().unwrap();
        assert_eq!(status_of(&e), Status::Usage);
        assert!(e.to_string().contains("no PEM certificate"), "{e}");

        let junk = dir.path().join("junk.pem");
        std::fs::write(
            &junk,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = connector(&Check::Full(Roots::File(junk))).err().unwrap();
        assert_eq!(status_of(&e), Status::Usage);
        assert!(e.to_string().contains("junk.pem"), "{e}");
    }

    #[test]
    fn no_check_needs_no_roots() {
        connector(&Check::None).unwrap();
    }
}
