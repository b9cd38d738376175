//! Basic-auth accounts (argon2id) and the credentials cache (`caching/credentialsCache`).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::config::model::{CredentialsCacheConfig, UserAccount};

use super::Identity;

/// Verifies user names and passwords against the configured accounts.
///
/// Names match case-insensitively (as Windows accounts do for IIS). Verification runs
/// argon2 on a blocking thread; with the cache enabled, a successful (name, password) pair
/// is remembered (as a keyed digest, never the password) until `flushInterval` passes, so
/// repeated logins do not re-hash. Unknown names still cost one hash so timing does not
/// reveal whether an account exists.
///
/// The cache digest is 128 bits of SipHash-1-3 (two `RandomState` keys, random per process)
/// over the password. It is an in-memory check only, consulted only for a name whose
/// password already passed argon2 in this process: it never leaves memory and is not a
/// password hash for storage. One entry per account at most, so the cache is bounded by the
/// number of accounts. A changed password may keep working until the entry expires (as in
/// IIS); a configuration reload rebuilds the `Authenticator` and so empties the cache.
pub struct Authenticator {
    /// Accounts by lower-cased name.
    accounts: HashMap<String, Account>,
    /// `None` when `credentialsCache@enabled` is false.
    cache: Option<CredentialsCache>,
    /// How many argon2 verifications ran (tests check the cache's fast path with it).
    argon2_runs: AtomicU64,
}

struct Account {
    name: String,
    password_hash: String,
    roles: Vec<String>,
}

impl Account {
    fn identity(&self) -> Identity {
        Identity {
            name: self.name.clone(),
            anonymous: false,
            roles: self.roles.clone(),
        }
    }
}

struct CredentialsCache {
    lifetime: Duration,
    keys: [RandomState; 2],
    /// Lower-cased name → the login that last succeeded.
    entries: Mutex<HashMap<String, CachedLogin>>,
}

struct CachedLogin {
    digest: [u64; 2],
    expires: Instant,
}

impl CredentialsCache {
    fn digest(&self, password: &str) -> [u64; 2] {
        self.keys.each_ref().map(|key| {
            let mut hasher = key.build_hasher();
            hasher.write(password.as_bytes());
            hasher.finish()
        })
    }

    /// True when `name` logged in with a password of this digest and the entry is fresh;
    /// drops an expired entry.
    fn hit(&self, name: &str, digest: [u64; 2], now: Instant) -> bool {
        let mut entries = lock(&self.entries);
        match entries.get(name) {
            Some(login) if now >= login.expires => {
                entries.remove(name);
                false
            }
            Some(login) => login.digest == digest,
            None => false,
        }
    }

    fn insert(&self, name: String, digest: [u64; 2], now: Instant) {
        let expires = now + self.lifetime;
        lock(&self.entries).insert(name, CachedLogin { digest, expires });
    }

    fn clear(&self) {
        lock(&self.entries).clear();
    }
}

/// Locks, recovering from poisoning: the map stays consistent (every update is one call).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Verified instead of a real hash for unknown names (and unusable stored hashes), so a
/// failure costs the same time either way. Default argon2id parameters, like
/// [`hash_password`]; the password behind it is irrelevant (random, discarded).
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$8tvBMZk/UyRYgiRN4RsEkw$zaJHndLdJTDJH/ea54+eNDZACe8X2o3ImeKw5N1DdLM";

impl Authenticator {
    /// Builds from the configured accounts and cache settings.
    ///
    /// Names equal up to case are one account: the first configured wins.
    pub fn new(accounts: &[UserAccount], cache: CredentialsCacheConfig) -> Authenticator {
        let mut by_name = HashMap::with_capacity(accounts.len());
        for account in accounts {
            by_name
                .entry(account.name.to_lowercase())
                .or_insert_with(|| Account {
                    name: account.name.clone(),
                    password_hash: account.password_hash.clone(),
                    roles: account.roles.clone(),
                });
        }
        let cache = cache.enabled.then(|| CredentialsCache {
            lifetime: cache.flush_interval,
            keys: [RandomState::new(), RandomState::new()],
            entries: Mutex::new(HashMap::new()),
        });
        Authenticator {
            accounts: by_name,
            cache,
            argon2_runs: AtomicU64::new(0),
        }
    }

    /// Checks a basic login; `Some(identity)` on success.
    pub async fn verify(&self, user: &str, password: &str) -> Option<Identity> {
        self.verify_at(user, password, Instant::now()).await
    }

    /// Empties the credentials cache (IIS `Flush`).
    pub fn flush(&self) {
        if let Some(cache) = &self.cache {
            cache.clear();
        }
    }

    /// [`Authenticator::verify`] with the clock read by the caller (tests move it).
    async fn verify_at(&self, user: &str, password: &str, now: Instant) -> Option<Identity> {
        let name = user.to_lowercase();
        let account = self.accounts.get(&name);
        let cached = self
            .cache
            .as_ref()
            .map(|cache| (cache, cache.digest(password)));
        if let (Some(account), Some((cache, digest))) = (account, &cached)
            && cache.hit(&name, *digest, now)
        {
            return Some(account.identity());
        }
        let stored = account.map_or(DUMMY_HASH, |a| a.password_hash.as_str());
        let verified = self.argon2_verify(stored, password).await;
        let account = account.filter(|_| verified)?;
        if let Some((cache, digest)) = cached {
            cache.insert(name, digest, now);
        }
        Some(account.identity())
    }

    /// Runs one argon2 verification on the blocking pool. An unparsable stored hash fails
    /// after verifying the dummy hash (same cost).
    async fn argon2_verify(&self, stored: &str, password: &str) -> bool {
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let stored = stored.to_string();
        let password = password.as_bytes().to_vec();
        let task = tokio::task::spawn_blocking(move || {
            let argon2 = Argon2::default();
            match PasswordHash::new(&stored) {
                Ok(hash) => argon2.verify_password(&password, &hash).is_ok(),
                Err(e) => {
                    tracing::warn!(error = %e, "stored password hash is not a PHC string");
                    if let Ok(dummy) = PasswordHash::new(DUMMY_HASH) {
                        let _ = argon2.verify_password(&password, &dummy);
                    }
                    false
                }
            }
        });
        task.await.unwrap_or(false)
    }

    #[cfg(test)]
    fn argon2_runs(&self) -> u64 {
        self.argon2_runs.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for Authenticator {
    /// Names only: no hashes, no cache contents.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.accounts.values().map(|a| a.name.as_str()).collect();
        names.sort_unstable();
        f.debug_struct("Authenticator")
            .field("accounts", &names)
            .field(
                "cache_lifetime",
                &self.cache.as_ref().map(|cache| cache.lifetime),
            )
            .finish_non_exhaustive()
    }
}

/// Hashes a password into an argon2id PHC string (for `wharf user add|passwd`).
///
/// Default argon2 parameters (argon2id, v19, m=19456 KiB, t=2, p=1) and a random 16-byte
/// salt from the thread-local CSPRNG.
pub fn hash_password(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    // Both steps only fail on out-of-range inputs: a 16-byte salt is within the PHC salt
    // length limits and the default parameters are valid.
    let salt = SaltString::encode_b64(&salt_bytes).expect("16-byte salt is a valid PHC salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("default argon2 parameters hash any password")
        .to_string()
}

#[cfg(test)]
mod tests {
    use argon2::{Algorithm, Params, Version};

    use super::*;

    /// A cheap argon2id hash (tests only: the stored string carries its own parameters).
    fn cheap_hash(password: &str) -> String {
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).unwrap();
        argon2
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn account(name: &str, password: &str, roles: &[&str]) -> UserAccount {
        UserAccount {
            name: name.to_string(),
            password_hash: cheap_hash(password),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn cache(enabled: bool, seconds: u64) -> CredentialsCacheConfig {
        CredentialsCacheConfig {
            enabled,
            flush_interval: Duration::from_secs(seconds),
        }
    }

    fn authenticator(enabled: bool) -> Authenticator {
        Authenticator::new(
            &[
                account("Alice", "wonderland", &["editors", "staff"]),
                account("bob", "builder", &[]),
            ],
            cache(enabled, 900),
        )
    }

    #[tokio::test]
    async fn correct_password_logs_in_with_configured_name_and_roles() {
        let auth = authenticator(true);
        let identity = auth.verify("Alice", "wonderland").await.unwrap();
        assert_eq!(identity.name, "Alice");
        assert!(!identity.anonymous);
        assert_eq!(identity.roles, ["editors", "staff"]);
    }

    #[tokio::test]
    async fn names_match_case_insensitively_passwords_do_not() {
        let auth = authenticator(true);
        assert_eq!(
            auth.verify("ALICE", "wonderland").await.unwrap().name,
            "Alice"
        );
        assert_eq!(auth.verify("Bob", "builder").await.unwrap().name, "bob");
        assert!(auth.verify("alice", "Wonderland").await.is_none());
    }

    #[tokio::test]
    async fn wrong_password_fails() {
        let auth = authenticator(true);
        assert!(auth.verify("alice", "wrong").await.is_none());
        assert!(auth.verify("alice", "").await.is_none());
        assert!(auth.verify("bob", "wonderland").await.is_none());
    }

    #[tokio::test]
    async fn unknown_user_fails_after_one_argon2_run() {
        let auth = authenticator(true);
        assert!(auth.verify("mallory", "wonderland").await.is_none());
        assert_eq!(auth.argon2_runs(), 1);
        // The name did not get into the cache either.
        assert!(auth.verify("mallory", "wonderland").await.is_none());
        assert_eq!(auth.argon2_runs(), 2);
    }

    #[tokio::test]
    async fn unparsable_stored_hash_never_logs_in() {
        let auth = Authenticator::new(
            &[UserAccount {
                name: "broken".to_string(),
                password_hash: "plain-text".to_string(),
                roles: Vec::new(),
            }],
            cache(true, 900),
        );
        assert!(auth.verify("broken", "plain-text").await.is_none());
        assert_eq!(auth.argon2_runs(), 1);
    }

    #[tokio::test]
    async fn second_login_is_served_from_the_cache() {
        let auth = authenticator(true);
        assert!(auth.verify("alice", "wonderland").await.is_some());
        assert_eq!(auth.argon2_runs(), 1);
        let identity = auth.verify("ALICE", "wonderland").await.unwrap();
        assert_eq!(identity.name, "Alice");
        assert_eq!(auth.argon2_runs(), 1, "cache hit must not run argon2");
        // A wrong password for a cached name is not a hit.
        assert!(auth.verify("alice", "wonderland!").await.is_none());
        assert_eq!(auth.argon2_runs(), 2);
        // And it did not evict the good entry.
        assert!(auth.verify("alice", "wonderland").await.is_some());
        assert_eq!(auth.argon2_runs(), 2);
    }

    #[tokio::test]
    async fn failed_logins_are_not_cached() {
        let auth = authenticator(true);
        assert!(auth.verify("alice", "nope").await.is_none());
        assert!(auth.verify("alice", "nope").await.is_none());
        assert_eq!(auth.argon2_runs(), 2);
    }

    #[tokio::test]
    async fn flush_empties_the_cache() {
        let auth = authenticator(true);
        assert!(auth.verify("alice", "wonderland").await.is_some());
        assert!(auth.verify("bob", "builder").await.is_some());
        assert_eq!(auth.argon2_runs(), 2);
        auth.flush();
        assert!(auth.verify("alice", "wonderland").await.is_some());
        assert!(auth.verify("bob", "builder").await.is_some());
        assert_eq!(auth.argon2_runs(), 4);
    }

    #[tokio::test]
    async fn entries_expire_after_the_flush_interval() {
        let auth = Authenticator::new(&[account("alice", "wonderland", &[])], cache(true, 60));
        let t0 = Instant::now();
        assert!(auth.verify_at("alice", "wonderland", t0).await.is_some());
        let almost = t0 + Duration::from_secs(59);
        assert!(
            auth.verify_at("alice", "wonderland", almost)
                .await
                .is_some()
        );
        assert_eq!(auth.argon2_runs(), 1);
        let later = t0 + Duration::from_secs(60);
        assert!(auth.verify_at("alice", "wonderland", later).await.is_some());
        assert_eq!(auth.argon2_runs(), 2, "expired entry must re-verify");
        // Re-verification refreshed the entry from `later`.
        let after = later + Duration::from_secs(30);
        assert!(auth.verify_at("alice", "wonderland", after).await.is_some());
        assert_eq!(auth.argon2_runs(), 2);
    }

    #[tokio::test]
    async fn disabled_cache_always_runs_argon2() {
        let auth = authenticator(false);
        for _ in 0..3 {
            assert!(auth.verify("alice", "wonderland").await.is_some());
        }
        assert_eq!(auth.argon2_runs(), 3);
        auth.flush();
    }

    #[tokio::test]
    async fn hash_password_makes_verifiable_salted_argon2id() {
        let a = hash_password("s3cret");
        let b = hash_password("s3cret");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        let auth = Authenticator::new(
            &[UserAccount {
                name: "carol".to_string(),
                password_hash: a,
                roles: Vec::new(),
            }],
            cache(true, 900),
        );
        assert!(auth.verify("carol", "s3cret").await.is_some());
        assert!(auth.verify("carol", "s3cret ").await.is_none());
    }

    #[test]
    fn dummy_hash_has_default_cost() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let params = Params::try_from(&dummy).unwrap();
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(params.m_cost(), Params::DEFAULT_M_COST);
        assert_eq!(params.t_cost(), Params::DEFAULT_T_COST);
        assert_eq!(params.p_cost(), Params::DEFAULT_P_COST);
    }

    #[test]
    fn debug_shows_no_hashes() {
        let auth = authenticator(true);
        let text = format!("{auth:?}");
        assert!(text.contains("Alice") && text.contains("bob"), "{text}");
        assert!(!text.contains("argon2"), "{text}");
    }
}
