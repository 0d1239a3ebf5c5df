"""heed's settings: every knob with its default, grouped, one comment each.

Components read these once, through ``from_crawler``, into frozen config values whose
validation errors name the setting. Environment-specific overrides belong on the command
line (``-s NAME=VALUE``) or in a job's own settings, never in code. None of them may weaken
the policy silently: every decision row records the policy hash and the strict flag.
"""

from crawler import __version__

# --- Project ---------------------------------------------------------------------------
BOT_NAME = "heed"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
# Custom commands: scrapy demo, scrapy audit
COMMANDS_MODULE = "crawler.commands"

# --- Identity --------------------------------------------------------------------------
# Names the bot, its version and where site owners reach its operator; contains the product
# token. Replace the contact URL with your own for real crawls.
USER_AGENT = f"heed/{__version__} (+https://example.invalid/heed-contact)"

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
# Most origins kept in the policy cache (least recently used are evicted).
POLICY_CACHE_SIZE = 10000
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

# --- Downloader middlewares --------------------------------------------------------------
# heed's gate replaces Scrapy's robots.txt middleware, which fails open; it must not run beside it.
ROBOTSTXT_OBEY = False
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.guard.NetworkGuardMiddleware": 60,
    "crawler.middlewares.gate.PolicyGateMiddleware": 100,
}
# A proxy would resolve names itself, out of the network guard's sight: off unless you opt in.
HTTPPROXY_ENABLED = False
# Resolves POLICY_RESOLVE names and refuses private, loopback and reserved addresses.
TWISTED_DNS_RESOLVER = "crawler.middlewares.resolver.GuardedResolver"

# --- Items -------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "pipelines.validate.ValidateRecordingPipeline": 200,
    "pipelines.provenance.ProvenancePipeline": 900,
}
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

# --- Limits --------------------------------------------------------------------------------
# How many link hops from a seed the music spider follows.
DEPTH_LIMIT = 3
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

# --- Housekeeping ------------------------------------------------------------------------
# No listening services by default: no telnet console, and no remote-control server
# (Scrapy 2.19 starts one that executes code sent to it, unless told not to).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
