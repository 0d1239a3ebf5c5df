"""heed's settings: every knob with its default, grouped, one comment each.

Components read these once, through ``from_crawler``, into frozen config values whose
validation errors name the setting. Environment-specific overrides belong on the command
line (``-s NAME=VALUE``) or in a job's own settings, never in code. None of them may weaken
the policy silently: every decision row records the policy hash and the strict flag.
"""

# --- Project ---------------------------------------------------------------------------
BOT_NAME = "heed"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Custom commands: scrapy demo, scrapy audit
COMMANDS_MODULE = "crawler.commands"

# --- Identity --------------------------------------------------------------------------
# Empty: built as "<POLICY_AGENT_TOKEN>/<version> (+<IDENTITY_CONTACT_URL>)". A value set here
# replaces it but must still start with <token>/<version> and carry a (+https://...) contact.
USER_AGENT = ""
# Page where site owners reach the crawl's operator; a crawl refuses to start with this placeholder.
IDENTITY_CONTACT_URL = "https://example.invalid/heed-contact"
# E-mail address sent in a From header on every request; empty = no From header.
IDENTITY_FROM = ""
# Accept a placeholder contact (example.invalid, *.test, ...): set only by the loopback demo and the tests.
IDENTITY_ALLOW_PLACEHOLDER = False

# --- Policy (the gate) -----------------------------------------------------------------
# Product token matched exactly (RFC 9309) against robots.txt User-agent lines.
POLICY_AGENT_TOKEN = "heed"
# Other tokens whose robots.txt groups bind heed too (we are Scrapy-based).
POLICY_ALSO_OBEY = ["Scrapy"]
# Strict mode: malformed signals that exist count as reservations, conflicts resolve restrictively.
POLICY_STRICT = True
# CSV of known AI-crawler tokens with a class each (training, search, user).
POLICY_AI_TOKENS = "data/ai_tokens.csv"
# Rights-holder registry CSV files (id,holder,scope,value,source_url,declared_on).
POLICY_REGISTRIES = ["data/registries/sample.csv"]
# Host name -> IP address map (like curl --resolve); mapped hosts pass the private-address guard.
POLICY_RESOLVE = {}
# Seconds a successfully fetched robots.txt / tdmrep.json stays valid (RFC 9309: at most 24 h).
POLICY_CACHE_TTL = 86400
# Seconds before an origin whose policy files could not be fetched is tried again.
POLICY_FAILURE_TTL = 300
# Most origins kept in the policy cache (least recently used are evicted); ~32 KiB each.
POLICY_CACHE_SIZE = 2000
# Ask Spawning's Do-Not-Train API about every content URL before fetching it (off by default;
# when on, a missing key or an unreachable API holds the URL).
POLICY_REMOTE_REGISTRY = False
# Endpoint of that API.
POLICY_REMOTE_REGISTRY_ENDPOINT = "https://opts-api.spawningaiapi.com/api/v2/query/urls/"
# Environment variable holding its API key (the key itself never goes into settings or logs).
POLICY_REMOTE_REGISTRY_KEY_ENV = "SPAWNING_OPTS_KEY"
# Fetch Spawning's /ai.txt for every origin too (its Disallow globs reserve files for AI use).
POLICY_AI_TXT = True
# Largest policy file downloaded at all (bytes); only the first 500 KiB of robots.txt is parsed.
POLICY_MAX_FILE_BYTES = 5 * 1024 * 1024

# --- Provenance log ----------------------------------------------------------------------
# Directory that receives one run directory per crawl job.
PROVENANCE_DIR = "data/runs"
# Run id; empty = generated from the UTC start time and a random suffix.
PROVENANCE_RUN_ID = ""
# Name of this writer process inside the run; empty = w<pid>.
PROVENANCE_WORKER = ""
# Rows buffered before a Parquet part is written.
PROVENANCE_ROWS_PER_PART = 10000
# Seconds after which buffered rows are written even if fewer.
PROVENANCE_FLUSH_SECONDS = 2.0
# Path of an Ed25519 private key (PEM; `scrapy audit keygen`); empty = manifests are not signed.
PROVENANCE_SIGNING_KEY = ""
# Continue this worker's log (same run id and worker name) after a stop or a crash.
PROVENANCE_RESUME = False

# --- Downloader middlewares --------------------------------------------------------------
# heed's gate replaces Scrapy's robots.txt middleware, which fails open; it must not run beside it.
ROBOTSTXT_OBEY = False
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    # Before Scrapy's offsite filter (50), so a redirect to a private address is logged.
    "crawler.middlewares.guard.NetworkGuardMiddleware": 40,
    # Replaces Scrapy's RetryMiddleware: Retry-After, per-host backoff; after the gate on the way back.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.backoff.BackoffMiddleware": 90,
    # Rechecks requests the gate held because a policy file could not be read.
    "crawler.middlewares.holds.HoldRecheckMiddleware": 95,
    "crawler.middlewares.gate.PolicyGateMiddleware": 100,
    # Crawl-delay / Request-rate per host; holds hosts that ask for more than the cap.
    "crawler.middlewares.politeness.PolitenessMiddleware": 110,
    # Incremental recrawl (JOB_NAME only): inside the gate, which decides first and judges every 304.
    "crawler.recrawl.middleware.RecrawlMiddleware": 120,
    # Replaces Scrapy's UserAgentMiddleware: User-Agent and From on every request.
    "scrapy.downloadermiddlewares.useragent.UserAgentMiddleware": None,
    "crawler.middlewares.identity.IdentityMiddleware": 500,
}
# A proxy would resolve names itself, out of the network guard's sight: off unless you opt in.
HTTPPROXY_ENABLED = False
# Resolves POLICY_RESOLVE names and refuses private, loopback and reserved addresses.
TWISTED_DNS_RESOLVER = "crawler.middlewares.resolver.GuardedResolver"
# Host name -> IP answers used instead of DNS (like /etc/hosts); unlike POLICY_RESOLVE, still checked.
GUARD_HOSTS = {}

# --- Items -------------------------------------------------------------------------------
ITEM_PIPELINES = {
    # Drops recordings (and their lyrics) whose audio URL the gate refused or never saw.
    "pipelines.items_audio.AudioPolicyPipeline": 100,
    # Drops items a rights-holder registry covers (party, isrc-prefix, iswc entries).
    "pipelines.items_registry.RegistryItemPipeline": 150,
    "pipelines.validate.ValidateItemPipeline": 200,
    # Keeps only licence statuses in ITEMS_LICENSE_ALLOW.
    "pipelines.items_license.LicenceAllowlistPipeline": 300,
    # One recording per ISRC and per canonical URL; the first one is kept.
    "pipelines.items_dedupe.DedupePipeline": 400,
    "pipelines.provenance.ProvenancePipeline": 900,
}
# Licence statuses an item may have to be kept ("*" keeps all): open licences and public domain.
ITEMS_LICENSE_ALLOW = ["open", "public_domain"]
# CSV of label/publisher names that stand for a registry party (alias,party,relationship,source_url,checked_on).
ITEMS_PARTY_ALIASES = "data/party_aliases.csv"
# Bytes fetched from the start of an audio file with a Range request (tags, stream header).
ITEMS_AUDIO_HEAD_BYTES = 64 * 1024
# Bytes fetched from the end when the format needs them (Ogg duration, MP4 moov at the end, WAV).
ITEMS_AUDIO_TAIL_BYTES = 64 * 1024
# Most bytes any one audio response may bring (larger tags are not fetched: tags_truncated).
ITEMS_AUDIO_MAX_BYTES = 4 * 1024 * 1024
# Items processed in parallel per response; Scrapy's default of 100 costs throughput here.
CONCURRENT_ITEMS = 16

# --- Politeness --------------------------------------------------------------------------
# One request at a time per host, a floor delay between them, AutoThrottle on top.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# Longest robots.txt Crawl-delay / Request-rate interval honoured (s); a host asking for more is held.
POLITENESS_MAX_CRAWL_DELAY = 60.0
# Longest wait honoured (s): Retry-After, backoff, hold rechecks; longer means a final hold.
POLITENESS_MAX_WAIT = 600.0
# Backoff after a host's first 5xx/429/timeout (s); doubles with each consecutive failure.
POLITENESS_BACKOFF_BASE = 5.0
# Consecutive failures after which a host is held (not asked again) for the rest of the run.
POLITENESS_HOST_MAX_FAILURES = 5
# Times a request held for an unreadable robots.txt / tdmrep.json is rechecked before a final hold.
POLITENESS_HOLD_RECHECKS = 3
# Wait before the first recheck (s); doubles each time, never before POLICY_FAILURE_TTL has passed.
POLITENESS_HOLD_BACKOFF = 60.0
# Collect download slots idle this long (s) with Scrapy's own clean-up; 0 = Scrapy's 60 s only.
POLITENESS_SLOT_IDLE = 0

# --- Limits --------------------------------------------------------------------------------
# How many link hops from a seed the music spider follows.
DEPTH_LIMIT = 3
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

# --- Scheduled jobs --------------------------------------------------------------------
# Name of a job run again and again (cron, systemd, scrapyd); empty = a one-off crawl. A named
# job holds a lock while it crawls and keeps its history in <PROVENANCE_DIR>/.jobs/<JOB_NAME>/.
JOB_NAME = ""
# Policy checks that may crash (each holds its URL) before `scrapy crawl` calls the run failed (exit 1).
JOB_MAX_POLICY_ERRORS = 0
# Scrapy finish reasons that count as a complete run; e.g. add "closespider_timeout" for a run
# bounded in time and continued by the next one through JOBDIR.
JOB_OK_FINISH_REASONS = ["finished"]
# JOBDIR's request queues hold JSON (crawler/jobs/diskqueue.py), never pickle.
SCHEDULER_DISK_QUEUE = "crawler.jobs.diskqueue.JsonLifoDiskQueue"
SCHEDULER_START_DISK_QUEUE = "crawler.jobs.diskqueue.JsonFifoDiskQueue"

# --- Incremental recrawl -----------------------------------------------------------------
# A named job asks each page an earlier run fetched "changed since?" (If-None-Match,
# If-Modified-Since), skips what answers 304 and schedules the pages earlier runs knew; policy
# files are always read fresh. Acts only when JOB_NAME is set (docs/recrawl.md).
RECRAWL_ENABLED = True
# Schedules the known pages and keeps unchanged ones from the spider; below 50 (HttpErrorMiddleware).
SPIDER_MIDDLEWARES = {"crawler.recrawl.spidermw.RecrawlSpiderMiddleware": 45}

# --- Distributed mode (docs/distributed.md) ------------------------------------------------
# redis:// URL of the Redis server the run's workers share; empty = one process, no Redis.
DISTRIBUTED_REDIS_URL = ""
# Environment variable holding the Redis password (a password in the URL is refused: settings are logged).
DISTRIBUTED_REDIS_PASSWORD_ENV = "HEED_REDIS_PASSWORD"
# First part of every Redis key (then the run id): one server can carry many runs.
DISTRIBUTED_KEY_PREFIX = "heed"
# Seconds without a heartbeat after which a worker counts as dead and its requests go back.
DISTRIBUTED_LEASE_TTL = 30.0
# Seconds a finished run's Redis keys are kept (queue, dupefilter, ...) before Redis drops them.
DISTRIBUTED_KEYS_TTL = 7 * 86400
# Seconds between lease releases and an idle worker's looks at the shared queue.
DISTRIBUTED_POLL_INTERVAL = 0.5
# Most requests one worker holds leased at once (0 = as many as CONCURRENT_REQUESTS lets it take).
DISTRIBUTED_MAX_LEASES = 0
# Added to every host's delay across workers (s): covers the time between taking a host and the
# request reaching it, which differs per worker, so hosts never see a gap below the delay.
DISTRIBUTED_PACE_MARGIN = 0.1
# Turns the settings above into a scheduler, dupefilter, download handler and extension on Redis.
ADDONS = {"crawler.distributed.addon.DistributedAddon": 0}

# --- Housekeeping ------------------------------------------------------------------------
# No listening services by default: no telnet console, and no remote-control server
# (Scrapy 2.19 starts one that executes code sent to it, unless told not to).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
