//! Credentials, found the way other registry clients find them: given on the command line
//! (`--username` and `--password-stdin`), else from the Docker configuration
//! (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): `auths`, `credHelpers`
//! and `credsStore`, whose helpers run as `docker-credential-NAME get`. With none of
//! these, access is anonymous: a public registry, or one whose bearer-token challenge
//! grants anonymous pulls.

use std::path::{Path, PathBuf};

use docker_credential::{CredentialRetrievalError, DockerCredential};
use oci_client::secrets::RegistryAuth;

use crate::RegistryError;

/// A username and password given on the command line.
#[derive(Clone, Default)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token (read from stdin by the command line, never an argument).
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The authentication to use for `registry` (`host[:port]`): `given` when set, else what the
/// Docker configuration holds for it, else anonymous.
pub fn for_registry(
    registry: &str,
    given: Option<&Credentials>,
) -> Result<RegistryAuth, RegistryError> {
    if let Some(given) = given {
        return Ok(RegistryAuth::Basic(
            given.username.clone(),
            given.password.clone(),
        ));
    }
    match docker_config() {
        Some(path) => from_docker_config(registry, &path),
        None => Ok(RegistryAuth::Anonymous),
    }
}

/// What the Docker configuration at `path` holds for `registry`; anonymous when the file
/// does not exist or names nothing for it.
fn from_docker_config(registry: &str, path: &Path) -> Result<RegistryAuth, RegistryError> {
    let refuse = |cause: String| RegistryError::Credentials {
        registry: registry.to_string(),
        cause,
    };
    let text = match std::fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RegistryAuth::Anonymous),
        Err(e) => return Err(refuse(format!("{}: {e}", path.display()))),
    };
    // The crate reads a malformed file as "no file": say what is wrong with it instead.
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&text) {
        return Err(refuse(format!("{} is not valid JSON: {e}", path.display())));
    }
    match docker_credential::get_credential_from_reader(text.as_slice(), registry) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(RegistryAuth::Basic(username, password))
        }
        Ok(DockerCredential::IdentityToken(_)) => Err(refuse(format!(
            "{} holds an identity token (an OAuth refresh token), which Kiln does not \
             exchange; log in with a username and password or a credential helper",
            path.display()
        ))),
        Err(CredentialRetrievalError::NoCredentialConfigured) => Ok(RegistryAuth::Anonymous),
        Err(CredentialRetrievalError::HelperFailure { helper, stderr, .. }) => Err(refuse(
            format!("the credential helper {helper} failed: {}", stderr.trim()),
        )),
        Err(CredentialRetrievalError::HelperCommunicationError) => Err(refuse(format!(
            "the credential helper that {} names could not be run (is docker-credential-* \
             on PATH?)",
            path.display()
        ))),
        Err(e) => Err(refuse(format!("{}: {e}", path.display()))),
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config() -> Option<PathBuf> {
    let non_empty = |var| std::env::var_os(var).filter(|v| !v.is_empty());
    non_empty("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".docker")))
        .map(|dir| dir.join("config.json"))
}

#[cfg(test)]
mod tests;
