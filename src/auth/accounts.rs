//! Basic-auth accounts (argon2id) and the credentials cache (`caching/credentialsCache`).
//!
//! Cache misses are single-flight and capped. Concurrent logins with the same name and
//! password (compared by the keyed digest below) share one argon2 verification: the first
//! starts it in a task of its own and every caller, the first included, waits for its answer;
//! the slot leaves the map when the verification ends, so it is not a cache of failures (only
//! callers that overlap it share its answer). A different password for the same name is a
//! different flight, and unknown names fly the same way on the dummy hash, so a failure still
//! costs one verification whether the account exists or not. Because the verification does
//! not belong to any one caller, a caller that gives up (disconnects) strands nobody. This
//! holds with the cache disabled too: sharing an overlapping answer is not caching it.
//!
//! At most [`argon2_cap`] verifications (one per available core) run at once in the whole
//! process, under one semaphore shared by every `Authenticator` (a reload does not add a
//! second one); the others queue for a permit, which the blocking job holds until it ends.
//! Each default-cost verification allocates 19 MiB: uncapped, 200 cold concurrent logins left
//! the process at 102 MiB PSS instead of ~12 MiB, and a password-spraying client could make
//! it allocate without bound.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::{Semaphore, watch};

use crate::config::model::{CredentialsCacheConfig, UserAccount};

use super::Identity;

/// Verifies user names and passwords against the configured accounts.
///
/// Names match case-insensitively (as Windows accounts do for IIS). Verification runs
/// argon2 on a blocking thread; with the cache enabled, a successful (name, password) pair
/// is remembered (as a keyed digest, never the password) until `flushInterval` passes, so
/// repeated logins do not re-hash. Unknown names still cost one hash so timing does not
/// reveal whether an account exists. Concurrent identical logins share one verification and
/// verifications are capped process-wide (see the module documentation).
///
/// The digest is 128 bits of SipHash-1-3 (two `RandomState` keys, random per process) over
/// the password. It is an in-memory check only, consulted only for a name whose password
/// already passed argon2 in this process (or, for a verification in flight, to find callers
/// with the same password): it never leaves memory and is not a password hash for storage.
/// One entry per account at most, so the cache is bounded by the number of accounts. A
/// changed password may keep working until the entry expires (as in IIS); a configuration
/// reload rebuilds the `Authenticator` and so empties the cache.
pub struct Authenticator {
    /// Accounts by lower-cased name.
    accounts: HashMap<String, Account>,
    /// What the verification tasks use too (they outlive a caller that gives up).
    shared: Arc<Shared>,
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

/// (lower-cased name, password digest): the callers that may share one verification.
type FlightKey = (String, [u64; 2]);

/// The answer of a verification in flight: `None` until it ends, then whether the login
/// succeeded. A closed channel with no answer counts as a failure.
type Answer = watch::Sender<Option<bool>>;

struct Shared {
    /// `None` when `credentialsCache@enabled` is false.
    cache: Option<CredentialsCache>,
    /// Keys of the password digest (cache entries and flights).
    keys: [RandomState; 2],
    /// Verifications in flight; an entry leaves when its verification ends.
    flights: Mutex<HashMap<FlightKey, Answer>>,
    /// Permits to run argon2: [`ARGON2_SLOTS`] except in tests.
    slots: Arc<Semaphore>,
    /// How many argon2 verifications ran (tests check the cache's fast path with it).
    argon2_runs: AtomicU64,
    /// Verifications running now, and the most seen at once (tests check the cap with it).
    running: AtomicUsize,
    peak_running: AtomicUsize,
}

struct CredentialsCache {
    lifetime: Duration,
    /// Lower-cased name → the login that last succeeded.
    entries: Mutex<HashMap<String, CachedLogin>>,
}

struct CachedLogin {
    digest: [u64; 2],
    expires: Instant,
}

impl CredentialsCache {
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

/// How many argon2 verifications may run at once in the process: the available cores, at
/// least 1 (each default-cost verification holds 19 MiB while it runs).
fn argon2_cap() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The process-wide permits to run argon2, shared by every [`Authenticator`].
static ARGON2_SLOTS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(argon2_cap())));

/// How a login goes on after looking at the flights.
enum Joined {
    /// The cache knows this name and password.
    Cached,
    /// Another login is verifying the same name and password: wait for its answer.
    Wait(watch::Receiver<Option<bool>>),
    /// The first: start the verification, then wait like the others.
    Lead(Answer, watch::Receiver<Option<bool>>),
}

impl Authenticator {
    /// Builds from the configured accounts and cache settings.
    ///
    /// Names equal up to case are one account: the first configured wins.
    pub fn new(accounts: &[UserAccount], cache: CredentialsCacheConfig) -> Authenticator {
        Authenticator::with_slots(accounts, cache, Arc::clone(&ARGON2_SLOTS))
    }

    /// [`Authenticator::new`] with the argon2 permits given (tests use their own).
    fn with_slots(
        accounts: &[UserAccount],
        cache: CredentialsCacheConfig,
        slots: Arc<Semaphore>,
    ) -> Authenticator {
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
            entries: Mutex::new(HashMap::new()),
        });
        Authenticator {
            accounts: by_name,
            shared: Arc::new(Shared {
                cache,
                keys: [RandomState::new(), RandomState::new()],
                flights: Mutex::new(HashMap::new()),
                slots,
                argon2_runs: AtomicU64::new(0),
                running: AtomicUsize::new(0),
                peak_running: AtomicUsize::new(0),
            }),
        }
    }

    /// Checks a basic login; `Some(identity)` on success.
    pub async fn verify(&self, user: &str, password: &str) -> Option<Identity> {
        self.verify_at(user, password, Instant::now()).await
    }

    /// Empties the credentials cache (IIS `Flush`).
    pub fn flush(&self) {
        if let Some(cache) = &self.shared.cache {
            cache.clear();
        }
    }

    /// [`Authenticator::verify`] with the clock read by the caller (tests move it).
    async fn verify_at(&self, user: &str, password: &str, now: Instant) -> Option<Identity> {
        let name = user.to_lowercase();
        let account = self.accounts.get(&name);
        let key = (name, self.shared.digest(password));
        let mut answer = match self.shared.join(&key, account.is_some(), now) {
            Joined::Cached => return account.map(Account::identity),
            Joined::Wait(answer) => answer,
            Joined::Lead(sender, answer) => {
                let stored = account.map_or(DUMMY_HASH, |a| a.password_hash.as_str());
                let flight = Flight {
                    shared: Arc::clone(&self.shared),
                    key,
                    answer: sender,
                };
                let password = password.as_bytes().to_vec();
                tokio::spawn(flight.run(stored.to_string(), password, account.is_some(), now));
                answer
            }
        };
        let verified = matches!(
            answer.wait_for(Option::is_some).await.as_deref(),
            Ok(Some(true))
        );
        account.filter(|_| verified).map(Account::identity)
    }

    #[cfg(test)]
    fn argon2_runs(&self) -> u64 {
        self.shared.argon2_runs.load(Ordering::Relaxed)
    }

    /// The most argon2 verifications this `Authenticator` ran at once.
    #[cfg(test)]
    fn peak_running(&self) -> usize {
        self.shared.peak_running.load(Ordering::Relaxed)
    }

    /// (verifications in flight, logins waiting for them).
    #[cfg(test)]
    fn flights(&self) -> (usize, usize) {
        let flights = lock(&self.shared.flights);
        let waiting = flights.values().map(watch::Sender::receiver_count).sum();
        (flights.len(), waiting)
    }
}

impl Shared {
    fn digest(&self, password: &str) -> [u64; 2] {
        self.keys.each_ref().map(|key| {
            let mut hasher = key.build_hasher();
            hasher.write(password.as_bytes());
            hasher.finish()
        })
    }

    /// Joins the verification in flight for `key`, or answers from the cache (for a `known`
    /// account), or makes the caller the one to start it.
    fn join(&self, key: &FlightKey, known: bool, now: Instant) -> Joined {
        let mut flights = lock(&self.flights);
        if let Some(answer) = flights.get(key) {
            return Joined::Wait(answer.subscribe());
        }
        // Under the flights lock: a successful flight fills the cache before it leaves the
        // map, so a login that just missed it is a hit here rather than a second run.
        if known
            && let Some(cache) = &self.cache
            && cache.hit(&key.0, key.1, now)
        {
            return Joined::Cached;
        }
        let (sender, answer) = watch::channel(None);
        flights.insert(key.clone(), sender.clone());
        Joined::Lead(sender, answer)
    }

    /// Runs one argon2 verification on the blocking pool once a permit is free; the job
    /// holds the permit until it ends, even if this future is dropped. An unparsable stored
    /// hash fails after verifying the dummy hash (same cost).
    async fn argon2_verify(self: &Arc<Self>, stored: String, password: Vec<u8>) -> bool {
        let Ok(permit) = Arc::clone(&self.slots).acquire_owned().await else {
            return false; // never closed
        };
        let shared = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            shared.argon2_runs.fetch_add(1, Ordering::Relaxed);
            let running = shared.running.fetch_add(1, Ordering::Relaxed) + 1;
            shared.peak_running.fetch_max(running, Ordering::Relaxed);
            let verified = argon2_check(&stored, &password);
            shared.running.fetch_sub(1, Ordering::Relaxed);
            verified
        });
        task.await.unwrap_or(false)
    }
}

/// One argon2 verification of `password` against a PHC string.
fn argon2_check(stored: &str, password: &[u8]) -> bool {
    let argon2 = Argon2::default();
    match PasswordHash::new(stored) {
        Ok(hash) => argon2.verify_password(password, &hash).is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "stored password hash is not a PHC string");
            if let Ok(dummy) = PasswordHash::new(DUMMY_HASH) {
                let _ = argon2.verify_password(password, &dummy);
            }
            false
        }
    }
}

/// A verification in flight, owned by its own task. It leaves the map when it ends, also
/// when the task is dropped unfinished (its waiters then see a closed channel: failure).
struct Flight {
    shared: Arc<Shared>,
    key: FlightKey,
    answer: Answer,
}

impl Flight {
    async fn run(self, stored: String, password: Vec<u8>, known: bool, now: Instant) {
        // Always run (an unknown name verifies the dummy hash), then look at `known`.
        let verified = self.shared.argon2_verify(stored, password).await && known;
        if verified && let Some(cache) = &self.shared.cache {
            cache.insert(self.key.0.clone(), self.key.1, now);
        }
        // Leave before answering, so whoever is woken finds the map without this flight.
        self.leave();
        self.answer.send_replace(Some(verified));
    }

    fn leave(&self) {
        let mut flights = lock(&self.shared.flights);
        if flights
            .get(&self.key)
            .is_some_and(|answer| answer.same_channel(&self.answer))
        {
            flights.remove(&self.key);
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.leave();
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
                &self.shared.cache.as_ref().map(|cache| cache.lifetime),
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

    /// An argon2id hash costly enough (1 MiB, 2 passes) that concurrent runs overlap.
    fn slower_hash(password: &str) -> String {
        let argon2 = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 2, 1, None).unwrap(),
        );
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).unwrap();
        argon2
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    /// Waits until `flights` verifications are in flight with `waiting` logins on them
    /// (panics after 10 s, so a missing single-flight fails rather than hangs).
    async fn wait_for_flights(auth: &Authenticator, flights: usize, waiting: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while auth.flights() != (flights, waiting) {
            assert!(
                Instant::now() < deadline,
                "flights (in flight, waiting) = {:?}, want ({flights}, {waiting})",
                auth.flights()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Spawns one login per (user, password), all on the same `Authenticator`.
    fn spawn_logins(
        auth: &Arc<Authenticator>,
        logins: &[(&'static str, &'static str)],
    ) -> Vec<tokio::task::JoinHandle<Option<Identity>>> {
        logins
            .iter()
            .map(|&(user, password)| {
                let auth = Arc::clone(auth);
                tokio::spawn(async move { auth.verify(user, password).await })
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_identical_logins_share_one_argon2_run() {
        for enabled in [true, false] {
            // No permit until every login is waiting: all 32 overlap for certain.
            let gate = Arc::new(Semaphore::new(0));
            let auth = Arc::new(Authenticator::with_slots(
                &[account("Alice", "wonderland", &["staff"])],
                cache(enabled, 900),
                Arc::clone(&gate),
            ));
            let logins: Vec<_> = (0..32)
                .map(|i| if i % 2 == 0 { "alice" } else { "ALICE" })
                .map(|user| (user, "wonderland"))
                .collect();
            let tasks = spawn_logins(&auth, &logins);
            wait_for_flights(&auth, 1, 32).await;
            gate.add_permits(1);
            for task in tasks {
                let identity = task.await.unwrap().expect("shared success");
                assert_eq!(identity.name, "Alice");
                assert_eq!(identity.roles, ["staff"]);
            }
            assert_eq!(auth.argon2_runs(), 1, "cache enabled: {enabled}");
            assert_eq!(auth.flights(), (0, 0), "the flight left the map");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn cold_concurrent_logins_run_argon2_once_with_the_process_wide_cap() {
        // The real configuration: process-wide permits, cache enabled and cold.
        let auth = Arc::new(Authenticator::new(
            &[UserAccount {
                name: "alice".to_string(),
                password_hash: slower_hash("wonderland"),
                roles: Vec::new(),
            }],
            cache(true, 900),
        ));
        let tasks = spawn_logins(&auth, &[("alice", "wonderland"); 32]);
        for task in tasks {
            assert!(task.await.unwrap().is_some());
        }
        // Whoever missed the flight found its cache entry (filled before it left the map).
        assert_eq!(auth.argon2_runs(), 1);
        assert_eq!(auth.flights(), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_verifications_never_exceed_the_cap() {
        const CAP: usize = 2;
        let names = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
        let accounts: Vec<UserAccount> = names
            .iter()
            .map(|name| UserAccount {
                name: name.to_string(),
                password_hash: slower_hash("secret"),
                roles: Vec::new(),
            })
            .collect();
        let auth = Arc::new(Authenticator::with_slots(
            &accounts,
            cache(true, 900),
            Arc::new(Semaphore::new(CAP)),
        ));
        let logins: Vec<_> = names.iter().map(|&name| (name, "secret")).collect();
        let tasks = spawn_logins(&auth, &logins);
        for task in tasks {
            assert!(task.await.unwrap().is_some(), "queued logins still succeed");
        }
        assert_eq!(auth.argon2_runs(), 8, "distinct accounts do not share");
        let peak = auth.peak_running();
        assert!((1..=CAP).contains(&peak), "peak {peak} > cap {CAP}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_right_and_wrong_passwords_get_their_own_answers() {
        let gate = Arc::new(Semaphore::new(0));
        let auth = Arc::new(Authenticator::with_slots(
            &[
                account("Alice", "wonderland", &[]),
                account("bob", "builder", &[]),
            ],
            cache(true, 900),
            Arc::clone(&gate),
        ));
        let mut logins = Vec::new();
        for _ in 0..4 {
            logins.extend([
                ("alice", "wonderland"),
                ("alice", "wrong"),
                ("alice", "wonderland "),
                ("bob", "wonderland"),
                ("mallory", "wonderland"),
            ]);
        }
        let tasks = spawn_logins(&auth, &logins);
        // One flight per (name, password), each shared by its four logins.
        wait_for_flights(&auth, 5, 20).await;
        gate.add_permits(2);
        for (&(user, password), task) in logins.iter().zip(tasks) {
            let identity = task.await.unwrap();
            let expected = user == "alice" && password == "wonderland";
            assert_eq!(identity.is_some(), expected, "{user} / {password:?}");
        }
        // Failures still cost a run each, the unknown name included (the dummy hash).
        assert_eq!(auth.argon2_runs(), 5);
        assert_eq!(auth.flights(), (0, 0));
        // Only the right password got into the cache.
        assert!(auth.verify("alice", "wonderland").await.is_some());
        assert!(auth.verify("alice", "wrong").await.is_none());
        assert_eq!(auth.argon2_runs(), 5 + 1);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_login_that_gives_up_strands_no_other() {
        let gate = Arc::new(Semaphore::new(0));
        let auth = Arc::new(Authenticator::with_slots(
            &[account("alice", "wonderland", &[])],
            cache(true, 900),
            Arc::clone(&gate),
        ));
        let first = spawn_logins(&auth, &[("alice", "wonderland")]).remove(0);
        wait_for_flights(&auth, 1, 1).await;
        let second = spawn_logins(&auth, &[("alice", "wonderland")]).remove(0);
        wait_for_flights(&auth, 1, 2).await;
        // The login that started the verification disconnects while it is queued.
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        wait_for_flights(&auth, 1, 1).await;
        gate.add_permits(1);
        assert!(second.await.unwrap().is_some());
        assert_eq!(auth.argon2_runs(), 1);
        assert_eq!(auth.flights(), (0, 0));
        assert_eq!(gate.available_permits(), 1, "the permit came back");
    }

    #[test]
    fn every_authenticator_shares_one_cap_sized_to_the_cores() {
        let a = authenticator(true);
        let b = authenticator(false);
        assert!(Arc::ptr_eq(&a.shared.slots, &b.shared.slots));
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(argon2_cap(), cores.max(1));
    }

    #[test]
    fn debug_shows_no_hashes() {
        let auth = authenticator(true);
        let text = format!("{auth:?}");
        assert!(text.contains("Alice") && text.contains("bob"), "{text}");
        assert!(!text.contains("argon2"), "{text}");
    }
}
