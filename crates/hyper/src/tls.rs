//! The rustls client configuration: crypto provider, trusted roots, ALPN.

use std::sync::Arc;

use claude_kit_core::Error;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Parses every `CERTIFICATE` block of a PEM document.
pub(crate) fn parse_pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("invalid PEM root certificate: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config(
            "no CERTIFICATE block found in the PEM root certificates",
        ));
    }
    Ok(certs)
}

/// The crypto provider: ring when the `rustls-ring` feature is on, else the process default
/// one, if the application installed one.
fn provider() -> Option<Arc<CryptoProvider>> {
    #[cfg(feature = "rustls-ring")]
    {
        Some(Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(not(feature = "rustls-ring"))]
    {
        CryptoProvider::get_default().cloned()
    }
}

/// Why `https://` cannot be used: no crypto provider.
pub(crate) fn unavailable() -> Error {
    Error::config(
        "https:// needs TLS, and no TLS crypto provider is available: enable the `rustls-ring` \
         feature of claude-kit (or claude-kit-hyper), install a process-default rustls \
         CryptoProvider, or pass a full rustls ClientConfig with `tls_config`",
    )
}

/// Builds the default client configuration: the `webpki-roots` bundle (when that feature is
/// on) plus `extra_roots`, safe default protocol versions, the ALPN protocols `alpn` (see
/// [`Versions::alpn`](crate::version::Versions::alpn)); `None` without a crypto provider
/// (plain `http://` still works then).
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
    alpn: Vec<Vec<u8>>,
) -> Result<Option<Arc<ClientConfig>>, Error> {
    let Some(provider) = provider() else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    #[cfg(feature = "webpki-roots")]
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_roots {
        roots
            .add(cert)
            .map_err(|e| Error::config(format!("invalid root certificate: {e}")))?;
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    Ok(Some(Arc::new(config)))
}
