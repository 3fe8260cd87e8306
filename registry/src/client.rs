//! Pushing and pulling one definition, over `oci-client`.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use kiln::definitions::Reference;
use oci_client::RegistryOperation;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OciDescriptor,
};
use oci_client::secrets::RegistryAuth;

use crate::RegistryError;
use crate::artifact::{self, Artifact, Descriptor, MANIFEST_MEDIA_TYPE, MAX_CONFIG_BYTES};
use crate::auth::{self, Credentials};

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct Options {
    /// Credentials for every registry (`--username`, `--password-stdin`); without them, the
    /// Docker configuration's, else anonymous.
    pub credentials: Option<Credentials>,
    /// A PEM file of CA certificates trusted besides the system's roots (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Plain HTTP, for a registry on this machine only (`--insecure`).
    pub insecure: bool,
    /// The largest component pulled.
    pub max_module_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            credentials: None,
            ca_file: None,
            insecure: false,
            max_module_bytes: kiln::definitions::MAX_MODULE_BYTES,
        }
    }
}

/// What a push left in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest's digest: `REPOSITORY@DIGEST` is what the tag now names.
    pub manifest_digest: String,
    /// The component's digest.
    pub module_digest: String,
}

/// A registry client. Each call runs to its end on a runtime of its own thread.
pub struct Client {
    options: Options,
    extra_roots: Vec<Certificate>,
    runtime: tokio::runtime::Runtime,
}

/// How long connecting may take, and a read may stall.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

impl Client {
    /// A client with `options`: the CA file is read now, so a wrong path fails before any
    /// network call.
    pub fn new(options: Options) -> Result<Client, RegistryError> {
        let extra_roots = match &options.ca_file {
            Some(path) => {
                let data = std::fs::read(path).map_err(|e| {
                    RegistryError::Tls(format!("--ca-file {}: {e}", path.display()))
                })?;
                if !data
                    .windows(27)
                    .any(|w| w == b"-----BEGIN CERTIFICATE-----")
                {
                    return Err(RegistryError::Tls(format!(
                        "--ca-file {}: no PEM certificate in it",
                        path.display()
                    )));
                }
                vec![Certificate {
                    encoding: CertificateEncoding::Pem,
                    data,
                }]
            }
            None => Vec::new(),
        };
        // reqwest is built without a TLS provider of its own (see Cargo.toml): ring's. A
        // second call (a second client) finds it installed, which is fine. Deprecated only
        // because ring lacks post-quantum key exchange, which aws-lc-rs would bring with
        // its constructor in every render.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Tls(format!("starting the network runtime: {e}")))?;
        Ok(Client {
            options,
            extra_roots,
            runtime,
        })
    }

    /// Pushes the component `module` (read from `file`) to `reference`, which must name a
    /// tag, as a Wasm OCI artifact with `annotations` on its manifest.
    pub fn push(
        &self,
        reference: &Reference,
        file: &str,
        module: &[u8],
        annotations: BTreeMap<String, String>,
    ) -> Result<Pushed, RegistryError> {
        let name = reference.to_string();
        let Some(tag) = &reference.tag else {
            return Err(RegistryError::Reference {
                reference: name,
                why: "a push needs a tag to name what it pushes (:TAG)".into(),
            });
        };
        if reference.digest.is_some() {
            return Err(RegistryError::Reference {
                reference: name,
                why: "a push names a tag only: the digest is the registry's answer".into(),
            });
        }
        let (config, layer, manifest) =
            artifact::build(module, annotations).map_err(|why| RegistryError::Module {
                file: file.to_string(),
                why,
            })?;
        let manifest = serde_json::to_vec(&manifest).map_err(|e| RegistryError::Module {
            file: file.to_string(),
            why: e.to_string(),
        })?;
        let oci = self.oci(reference)?;
        let target = oci_client::Reference::with_tag(
            reference.registry.clone(),
            reference.repository.clone(),
            tag.clone(),
        );
        let auth = self.auth(reference)?;
        let fail = |what| failed(&name, what);
        self.runtime.block_on(async {
            oci.auth(&target, &auth, RegistryOperation::Push)
                .await
                .map_err(fail("manifest"))?;
            let layer_digest = kiln::digest::oci(&layer.data);
            oci.push_blob(&target, layer.data, &layer_digest)
                .await
                .map_err(fail("component"))?;
            let config_digest = kiln::digest::oci(&config.data);
            oci.push_blob(&target, config.data, &config_digest)
                .await
                .map_err(fail("config"))?;
            oci.push_manifest_raw(
                &target,
                manifest.clone(),
                http::HeaderValue::from_static(MANIFEST_MEDIA_TYPE),
            )
            .await
            .map_err(fail("manifest"))?;
            Ok(Pushed {
                manifest_digest: kiln::digest::oci(&manifest),
                module_digest: layer_digest,
            })
        })
    }

    /// Pulls the definition `reference` names: the manifest (checked to be a Wasm OCI
    /// artifact, and against the reference's digest if it has one), then its config and
    /// component, each refused when its declared size is over the cap, cut off if the
    /// registry sends more, and verified against its digest. Nothing is stored.
    pub fn pull(&self, reference: &Reference) -> Result<Artifact, RegistryError> {
        let name = reference.to_string();
        let oci = self.oci(reference)?;
        let target = match (&reference.digest, &reference.tag) {
            (Some(digest), _) => oci_client::Reference::with_digest(
                reference.registry.clone(),
                reference.repository.clone(),
                digest.clone(),
            ),
            (None, Some(tag)) => oci_client::Reference::with_tag(
                reference.registry.clone(),
                reference.repository.clone(),
                tag.clone(),
            ),
            (None, None) => {
                return Err(RegistryError::Reference {
                    reference: name,
                    why: "names neither a tag nor a digest".into(),
                });
            }
        };
        let auth = self.auth(reference)?;
        let fail = |what| failed(&name, what);
        self.runtime.block_on(async {
            oci.auth(&target, &auth, RegistryOperation::Pull)
                .await
                .map_err(fail("manifest"))?;
            let accepted = [
                MANIFEST_MEDIA_TYPE,
                OCI_IMAGE_INDEX_MEDIA_TYPE,
                IMAGE_MANIFEST_MEDIA_TYPE,
                IMAGE_MANIFEST_LIST_MEDIA_TYPE,
            ];
            let (manifest, _) = oci
                .pull_manifest_raw(&target, &auth, &accepted)
                .await
                .map_err(fail("manifest"))?;
            let manifest = manifest.to_vec();
            if manifest.len() > artifact::MAX_MANIFEST_BYTES {
                return Err(RegistryError::TooLarge {
                    reference: name.clone(),
                    what: "manifest",
                    size: manifest.len() as u64,
                    max: artifact::MAX_MANIFEST_BYTES as u64,
                });
            }
            let manifest_digest = kiln::digest::oci(&manifest);
            if let Some(expected) = &reference.digest
                && *expected != manifest_digest
            {
                return Err(RegistryError::DigestMismatch {
                    reference: name.clone(),
                    what: "manifest",
                    expected: expected.clone(),
                    actual: manifest_digest,
                });
            }
            let read =
                artifact::read_manifest(&manifest).map_err(|why| RegistryError::NotWasm {
                    reference: name.clone(),
                    why,
                })?;
            let config = self
                .blob(
                    &oci,
                    &target,
                    &name,
                    "config",
                    &read.config,
                    MAX_CONFIG_BYTES,
                )
                .await?;
            serde_json::from_slice::<serde_json::Value>(&config).map_err(|e| {
                RegistryError::NotWasm {
                    reference: name.clone(),
                    why: format!("its config is not JSON: {e}"),
                }
            })?;
            let module = self
                .blob(
                    &oci,
                    &target,
                    &name,
                    "component",
                    &read.layer,
                    self.options.max_module_bytes,
                )
                .await?;
            Ok(Artifact {
                manifest_digest,
                manifest,
                config,
                module,
                module_digest: read.layer.digest,
                annotations: read.annotations,
            })
        })
    }

    /// One blob, refused over `max` before and while it is read, and verified.
    async fn blob(
        &self,
        oci: &oci_client::Client,
        target: &oci_client::Reference,
        reference: &str,
        what: &'static str,
        descriptor: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = |size| RegistryError::TooLarge {
            reference: reference.to_string(),
            what,
            size,
            max,
        };
        if descriptor.size > max {
            return Err(too_large(descriptor.size));
        }
        let layer = OciDescriptor {
            media_type: descriptor.media_type.clone(),
            digest: descriptor.digest.clone(),
            size: descriptor.size as i64,
            ..OciDescriptor::default()
        };
        // The declared size caps the read: a registry that sends more is cut off.
        let mut out = Capped::new(descriptor.size);
        let pulled = oci.pull_blob(target, &layer, &mut out).await;
        if out.over {
            return Err(RegistryError::Registry {
                reference: reference.to_string(),
                cause: format!(
                    "the registry sent more than the {} bytes the manifest declares for the {what}",
                    descriptor.size
                ),
            });
        }
        pulled.map_err(|e| map_error(reference, what, e))?;
        // Verified by oci-client already; checked again here, where it is Kiln's promise.
        let actual = kiln::digest::oci(&out.bytes);
        if actual != descriptor.digest || out.bytes.len() as u64 != descriptor.size {
            return Err(RegistryError::DigestMismatch {
                reference: reference.to_string(),
                what,
                expected: descriptor.digest.clone(),
                actual,
            });
        }
        Ok(out.bytes)
    }

    /// An `oci-client` for `reference`'s registry: HTTPS with the system's roots and the
    /// CA file, or plain HTTP for a registry on this machine when `--insecure` is given.
    fn oci(&self, reference: &Reference) -> Result<oci_client::Client, RegistryError> {
        if self.options.insecure && !reference.is_loopback() {
            return Err(RegistryError::InsecureRemote {
                reference: reference.to_string(),
                registry: reference.registry.clone(),
            });
        }
        let protocol = if self.options.insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        };
        Ok(oci_client::Client::new(ClientConfig {
            protocol,
            extra_root_certificates: self.extra_roots.clone(),
            // Kiln checks what it pulls is one artifact; an index is reported, not resolved.
            platform_resolver: None,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: concat!("kiln/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        }))
    }

    fn auth(&self, reference: &Reference) -> Result<RegistryAuth, RegistryError> {
        auth::for_registry(&reference.registry, self.options.credentials.as_ref())
    }
}

/// [`map_error`] for the `what` of `reference`, for `map_err`.
fn failed<'a>(
    reference: &'a str,
    what: &'static str,
) -> impl FnOnce(OciDistributionError) -> RegistryError + 'a {
    move |error| map_error(reference, what, error)
}

/// `oci-client`'s error as what went wrong for a user, naming `reference`.
fn map_error(reference: &str, what: &'static str, error: OciDistributionError) -> RegistryError {
    let reference = reference.to_string();
    let not_found = |detail: String| RegistryError::NotFound {
        reference: reference.clone(),
        detail,
    };
    let unauthorized = |detail: String| RegistryError::Unauthorized {
        reference: reference.clone(),
        detail,
    };
    match error {
        OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
            RegistryError::Unreachable {
                reference,
                cause: causes(&e),
            }
        }
        OciDistributionError::RequestError(e) => match e.status().map(|s| s.as_u16()) {
            Some(404) => not_found(String::new()),
            Some(401 | 403) => unauthorized(String::new()),
            _ => RegistryError::Registry {
                reference,
                cause: causes(&e),
            },
        },
        OciDistributionError::UnauthorizedError { .. } => unauthorized(String::new()),
        OciDistributionError::AuthenticationFailure(reason) => {
            unauthorized(format!(": the token service said {}", reason.trim()))
        }
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes = || envelope.errors.iter().map(|e| &e.code);
            let detail = format!(
                ": {}",
                envelope
                    .errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            if codes().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                not_found(detail)
            } else if codes()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized(detail)
            } else {
                RegistryError::Registry {
                    reference,
                    cause: detail.trim_start_matches(": ").to_string(),
                }
            }
        }
        OciDistributionError::ServerError { code, message, .. } => match code {
            404 => not_found(String::new()),
            401 | 403 => unauthorized(String::new()),
            _ => RegistryError::Registry {
                reference,
                cause: format!("HTTP {code}: {}", message.trim()),
            },
        },
        OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
            expected,
            actual,
        }) => RegistryError::DigestMismatch {
            reference,
            what,
            expected,
            actual,
        },
        other => RegistryError::Registry {
            reference,
            cause: other.to_string(),
        },
    }
}

/// An error and its sources, joined: reqwest's own message alone says only "error sending
/// request", and the cause (connection refused, a certificate) is further down.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = source.and_then(std::error::Error::source);
    }
    text
}

/// A buffer that refuses to grow past `max` bytes.
struct Capped {
    bytes: Vec<u8>,
    max: u64,
    over: bool,
}

impl Capped {
    fn new(max: u64) -> Capped {
        Capped {
            // The declared size, which is capped: at most what the caller reads.
            bytes: Vec::with_capacity(max as usize),
            max,
            over: false,
        }
    }
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.max {
            self.over = true;
            return Poll::Ready(Err(io::Error::other(
                "more bytes than the manifest declares",
            )));
        }
        self.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
