"""The credential catalogue: one SecretRule per credential format.

Each rule is an RE2 pattern (linear time on hostile text) whose `secret` group is the credential
itself, plus an optional validator for structure a regex cannot express (checksums, randomness,
decodable headers). Formats with a distinctive public prefix (ghp_, AKIA, xoxb-) match anywhere;
formats that are just random characters (AWS secret keys, Datadog keys) match only after a
context keyword, so hashes, UUIDs and commit ids stay quiet. Rule ids are stable: policies and
audit logs refer to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wardgate.scan.dlp import validators as v
from wardgate.scan.types import Severity

CRITICAL = Severity.CRITICAL
HIGH = Severity.HIGH
MEDIUM = Severity.MEDIUM


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One credential format. `pattern` is RE2 syntax with a `(?P<secret>...)` group.

    `validator` must accept the secret for the rule to fire. `checksum`, when set, is a stronger
    structural proof (e.g. GitHub's CRC32): a value that fails it still fires, with a lower
    score, because test fixtures and hand-made tokens lack it but still leak the format.
    """

    id: str
    name: str
    pattern: str
    severity: Severity
    caseless: bool = False
    validator: Callable[[str], bool] | None = None
    keywords: tuple[str, ...] = ()
    checksum: Callable[[str], bool] | None = None
    generic: bool = False  # a context/heuristic rule: loses to a specific rule on overlap


# A token ends where its alphabet ends. Consumed, so patterns keep it out of the secret group.
_END = r"(?:[^A-Za-z0-9_\-]|$)"
_END_B64 = r"(?:[^A-Za-z0-9_\-+/=]|$)"


def _tok(secret: str, end: str = _END) -> str:
    """A prefixed token standing on its own: word boundary before, alphabet boundary after."""
    return rf"\b(?P<secret>{secret}){end}"


def _ctx(keywords: str, secret: str, *, bounded: bool = True, comma: bool = True) -> str:
    """`secret` right after a keyword-bearing name and an assignment operator.

    Covers env files (FOO_TOKEN=...), YAML/JSON (`"foo_token": "..."`), code (`fooToken :=
    "..."`), XML (`<fooToken>...`) and CLI flags (`--foo-token ...` is not covered on purpose:
    too many benign flags). Only the keyword is case-insensitive. `bounded` keeps a provider
    name from matching inside a longer word ("okta" in "rookTable"); the generic rule wants
    the opposite, keywords at the end of names like `dbPassword`, and leaves out the `,`
    operator, which in prose and argument lists separates names, not a name and its value.
    """
    left = r"(?:^|[^A-Za-z])" if bounded else ""
    return (
        rf"{left}(?i:{keywords})[ \t\w.\-]{{0,20}}[\s'\"]{{0,3}}"
        + (r"(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)" if comma else r"(?:=|>|:{1,3}=|\|\||:|=>|\?=)")
        + r"[`'\"\s=]{0,5}"
        rf"(?P<secret>{secret})(?:[`'\"\s;,<&)\]}}]|\\[nrt]|$)"
    )


_SECRET, _SECRET2 = "(?P<secret>", "(?P<secret2>"  # RE2 group names must be unique


def _r(
    id_: str,
    name: str,
    pattern: str,
    severity: Severity = HIGH,
    validator: Callable[[str], bool] | None = v.is_keyed_secret,
    keywords: tuple[str, ...] = (),
    *,
    caseless: bool = False,
    checksum: Callable[[str], bool] | None = None,
    generic: bool = False,
) -> SecretRule:
    return SecretRule(
        id=f"dlp.{id_}",
        name=name,
        pattern=pattern,
        severity=severity,
        caseless=caseless,
        validator=validator,
        keywords=keywords,
        checksum=checksum,
        generic=generic,
    )


def _not_placeholder(value: str) -> bool:
    return not v.is_placeholder(value)


def _generic_value(value: str) -> bool:
    """`is_generic_secret`, except for values that open with a vendor's own prefix (`xoxp-`,
    `sm_pat_`): those belong to the vendor's rule, which knows their length and alphabet; if
    it refused the value (`xoxp-1234-1234-...` test fixtures), a bare name-context guess must
    not overrule it."""
    return not value.strip("'\"`").startswith(VENDOR_PREFIXES) and v.is_generic_secret(value)


_PEM_BODY = r"(?:[A-Za-z0-9+/=\s]|\\[nr]|(?:Proc-Type|DEK-Info|Version|Comment):[^\n\\]*)"
_PASSWORD_URL_USER = r"[A-Za-z0-9._%+~!$&*-]{1,100}"
_URL_PASSWORD = r"[^\s@/'\"<>`]{1,200}"
_GENERIC_KEYS = (
    r"secret|token|passw(?:or)?d|pwd|api[_.\-]?key|apikey|access[_.\-]?key|auth[_.\-]?key"
    r"|credential|private[_.\-]?key|client[_.\-]?secret"
)
_GENERIC_VALUE = r"[A-Za-z0-9_\-+/=.~!@#%^&*?|$]{8,}"

_CLOUD: tuple[SecretRule, ...] = (
    _r("aws_access_key_id", "AWS access key ID",
       _tok(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z2-7]{16}"),
       CRITICAL, _not_placeholder, ("AKIA", "ASIA")),
    _r("aws_secret_access_key", "AWS secret access key",
       _ctx(r"aws[_.\-]?secret(?:[_.\-]?access)?(?:[_.\-]?key)?|secret[_.\-]?access[_.\-]?key",
            r"[A-Za-z0-9/+]{40}"),
       CRITICAL, lambda s: v.is_random_token(s, min_entropy=3.5),
       ("aws_secret_access_key", "secret_access_key")),
    _r("aws_session_token", "AWS session token",
       _ctx(r"aws[_.\-]?session[_.\-]?token|x-amz-security-token|security[_.\-]?token",
            r"[A-Za-z0-9/+=]{100,}"),
       CRITICAL, _not_placeholder, ("aws_session_token", "x-amz-security-token")),
    _r("aws_bedrock_api_key", "Amazon Bedrock API key",
       _tok(r"ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{100,}={0,2}", _END_B64)
       + r"|\b(?P<secret2>bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/=%&-]*)",
       CRITICAL, _not_placeholder, ("ABSK", "bedrock-api-key-")),
    _r("gcp_service_account", "GCP service account key (JSON)",
       r"\"type\"\s*:\s*\"service_account\"(?s:.)*?\"private_key\"\s*:\s*"
       r"\"(?P<secret>-----BEGIN[^\"]{40,})\"",
       CRITICAL, _not_placeholder, ("service_account", "private_key")),
    _r("google_api_key", "Google API key",
       _tok(r"AIza[0-9A-Za-z_\-]{35}"), HIGH, v.is_prefixed_secret, ("AIza",)),
    _r("gcp_oauth_client_secret", "Google OAuth client secret",
       _tok(r"GOCSPX-[A-Za-z0-9_\-]{28}"), HIGH, v.is_prefixed_secret, ("GOCSPX-",)),
    _r("azure_storage_account_key", "Azure storage account key",
       r"(?i:AccountKey|azure[\w.\-]{0,20}(?:storage|account)[\w.\-]{0,10}key)\s*[=:]\s*['\"]?"
       r"(?P<secret>[A-Za-z0-9+/]{86}==)",
       CRITICAL, v.is_keyed_secret, ("AccountKey", "DefaultEndpointsProtocol")),
    _r("azure_shared_access_key", "Azure Service Bus / Event Hub shared access key",
       r"(?i:SharedAccessKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{42,44}=)",
       CRITICAL, v.is_keyed_secret, ("SharedAccessKey",)),
    _r("azure_ad_client_secret", "Azure AD client secret",
       r"(?:^|[\\'\"`\s>=:(,)])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})"
       r"(?:$|[\\'\"`\s<),])",
       HIGH, v.is_keyed_secret, ("Q~", "client_secret")),
    _r("azure_sas_token", "Azure shared access signature",
       r"\bsv=\d{4}-\d\d-\d\d&[^\s'\"<>]{0,400}?\bsig=(?P<secret>[A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})",
       HIGH, _not_placeholder, ("sv=", "sig=")),
    _r("alibaba_access_key_id", "Alibaba Cloud access key ID",
       _tok(r"LTAI[A-Za-z0-9]{20}"), HIGH, v.is_prefixed_secret, ("LTAI",)),
    _r("digitalocean_token", "DigitalOcean token",
       _tok(r"do[opr]_v1_[a-f0-9]{64}"), HIGH, v.is_hex_random, ("dop_v1_", "doo_v1_")),
    _r("heroku_api_key", "Heroku API key",
       _tok(r"HRKU-AA[0-9A-Za-z_\-]{58}")
       + "|" + _ctx("heroku", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
       .replace(_SECRET, _SECRET2),
       HIGH, _not_placeholder, ("heroku", "HRKU-")),
    _r("cloudflare_api_token", "Cloudflare API token",
       _ctx(r"cloudflare|cf[_.\-]api", r"[A-Za-z0-9_\-]{40}"), HIGH, v.is_keyed_secret,
       ("cloudflare",)),
    _r("cloudflare_global_api_key", "Cloudflare global API key",
       _ctx(r"cloudflare|cf[_.\-]api", r"[a-f0-9]{37}"), HIGH, v.is_hex_random, ("cloudflare",)),
    _r("cloudflare_origin_ca_key", "Cloudflare origin CA key",
       _tok(r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"), HIGH, v.is_hex_random, ("v1.0-",)),
    _r("vercel_token", "Vercel token",
       _ctx("vercel", r"[A-Za-z0-9]{24}") + r"|\b(?P<secret2>vc[pk]_[A-Za-z0-9]{56})\b",
       HIGH, v.is_keyed_secret, ("vercel",)),
    _r("netlify_token", "Netlify token",
       _ctx("netlify", r"[A-Za-z0-9_\-]{40,46}") + r"|\b(?P<secret2>nfp_[A-Za-z0-9]{36})\b",
       HIGH, v.is_keyed_secret, ("netlify", "nfp_")),
    _r("databricks_token", "Databricks API token",
       _tok(r"dapi[a-f0-9]{32}(?:-\d)?"), HIGH, v.is_hex_random, ("dapi",)),
    _r("firebase_fcm_server_key", "Firebase Cloud Messaging server key",
       _tok(r"AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{134}"), HIGH, _not_placeholder,
       ("APA91b",)),
)  # fmt: skip

_CODE_HOSTING: tuple[SecretRule, ...] = (
    _r("github_pat", "GitHub personal access token (classic)",
       _tok(r"ghp_[A-Za-z0-9]{36}"), CRITICAL, v.is_prefixed_secret, ("ghp_",),
       checksum=v.github_checksum_ok),
    _r("github_oauth_token", "GitHub OAuth access token",
       _tok(r"gho_[A-Za-z0-9]{36}"), CRITICAL, v.is_prefixed_secret, ("gho_",),
       checksum=v.github_checksum_ok),
    _r("github_user_to_server_token", "GitHub App user-to-server token",
       _tok(r"ghu_[A-Za-z0-9]{36}"), CRITICAL, v.is_prefixed_secret, ("ghu_",),
       checksum=v.github_checksum_ok),
    _r("github_server_to_server_token", "GitHub App installation token",
       _tok(r"ghs_[A-Za-z0-9]{36}"), CRITICAL, v.is_prefixed_secret, ("ghs_",),
       checksum=v.github_checksum_ok),
    _r("github_refresh_token", "GitHub refresh token",
       _tok(r"ghr_[A-Za-z0-9]{36}"), CRITICAL, v.is_prefixed_secret, ("ghr_",),
       checksum=v.github_checksum_ok),
    _r("github_fine_grained_pat", "GitHub fine-grained personal access token",
       _tok(r"github_pat_[A-Za-z0-9_]{82}"), CRITICAL, v.is_prefixed_secret, ("github_pat_",)),
    _r("gitlab_pat", "GitLab personal access token",
       _tok(r"glpat-[A-Za-z0-9_\-]{20,300}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9}|\.[0-9a-z]{9})?"),
       CRITICAL, v.is_prefixed_secret, ("glpat-",)),
    _r("gitlab_pipeline_trigger_token", "GitLab pipeline trigger token",
       _tok(r"glptt-[A-Za-z0-9_\-]{40}"), HIGH, v.is_prefixed_secret, ("glptt-",)),
    _r("gitlab_deploy_token", "GitLab deploy token",
       _tok(r"gldt-[A-Za-z0-9_\-]{20}"), HIGH, v.is_prefixed_secret, ("gldt-",)),
    _r("gitlab_runner_token", "GitLab runner registration / authentication token",
       _tok(r"GR1348941[A-Za-z0-9_\-]{20}|glrt-(?:t\d_)?[A-Za-z0-9_\-]{20}(?:\.[0-9a-z]{9})?"),
       HIGH, v.is_prefixed_secret, ("GR1348941", "glrt-")),
    _r("gitlab_ci_job_token", "GitLab CI/CD job token",
       _tok(r"glcbt-(?:[0-9A-Za-z]{1,5}_)?[A-Za-z0-9_\-]{20}"), HIGH, v.is_prefixed_secret,
       ("glcbt-",)),
    _r("gitlab_other_token", "GitLab feed / mail / agent / OAuth / SCIM / feature-flag token",
       _tok(r"glft-[A-Za-z0-9_\-]{20}|glimt-[A-Za-z0-9_\-]{25}|glagent-[A-Za-z0-9_\-]{50}"
            r"|gloas-[A-Za-z0-9_\-]{64}|glffct-[A-Za-z0-9_\-]{20}|glsoat-[A-Za-z0-9_\-]{20}"),
       HIGH, v.is_prefixed_secret, ("glft-", "glimt-", "glagent-", "gloas-", "glsoat-")),
    _r("gitlab_session_cookie", "GitLab session cookie",
       r"_gitlab_session=(?P<secret>[0-9A-Za-z]{32})", HIGH, v.is_keyed_secret,
       ("_gitlab_session",)),
    _r("bitbucket_app_password", "Bitbucket / Atlassian app password",
       _tok(r"ATBB[A-Za-z0-9_=.\-]{28,32}"), HIGH, v.is_prefixed_secret, ("ATBB",)),
    _r("bitbucket_client_secret", "Bitbucket OAuth client secret",
       _ctx("bitbucket", r"[a-zA-Z0-9=_\-]{64}|[a-z0-9]{32}"), HIGH, v.is_keyed_secret,
       ("bitbucket",)),
    _r("atlassian_api_token", "Atlassian API token",
       _tok(r"ATATT3[A-Za-z0-9_\-=]{186}") + "|"
       + _ctx(r"atlassian|confluence|jira", r"[A-Za-z0-9]{24}").replace(_SECRET, _SECRET2),
       HIGH, v.is_keyed_secret, ("ATATT3", "atlassian", "jira", "confluence")),
)  # fmt: skip

_AI: tuple[SecretRule, ...] = (
    _r("openai_api_key", "OpenAI API key",
       _tok(r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}"
            r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{58,200}|sk-[A-Za-z0-9]{48}"),
       CRITICAL, v.is_prefixed_secret, ("sk-", "sk-proj-", "T3BlbkFJ")),
    _r("anthropic_api_key", "Anthropic API key",
       _tok(r"sk-ant-(?:api03|sid01|oat01)-[A-Za-z0-9_\-]{80,120}"), CRITICAL, v.is_prefixed_secret,
       ("sk-ant-api03-",)),
    _r("anthropic_admin_key", "Anthropic admin API key",
       _tok(r"sk-ant-admin01-[A-Za-z0-9_\-]{80,120}"), CRITICAL, v.is_prefixed_secret,
       ("sk-ant-admin01-",)),
    _r("groq_api_key", "Groq API key", _tok(r"gsk_[A-Za-z0-9]{52}"), HIGH, v.is_prefixed_secret,
       ("gsk_",)),
    _r("xai_api_key", "xAI API key", _tok(r"xai-[A-Za-z0-9]{80}"), HIGH, v.is_prefixed_secret,
       ("xai-",)),
    _r("mistral_api_key", "Mistral API key", _ctx("mistral", r"[A-Za-z0-9]{32}"), HIGH,
       v.is_keyed_secret, ("mistral",)),
    _r("cohere_api_key", "Cohere API key", _ctx(r"cohere|co[_.\-]api[_.\-]?key",
       r"[A-Za-z0-9]{40}"), HIGH, v.is_keyed_secret, ("cohere", "CO_API_KEY")),
    _r("huggingface_token", "Hugging Face access token",
       _tok(r"hf_[A-Za-z]{34}|api_org_[A-Za-z]{34}"), HIGH, v.is_prefixed_secret,
       ("hf_", "api_org_")),
    _r("replicate_api_token", "Replicate API token", _tok(r"r8_[A-Za-z0-9]{37}"), HIGH,
       v.is_prefixed_secret, ("r8_",)),
    _r("together_api_key", "Together AI API key",
       _tok(r"tgp_v1_[A-Za-z0-9_\-]{43}") + "|"
       + _ctx("together", r"[a-f0-9]{64}").replace(_SECRET, _SECRET2),
       HIGH, v.is_keyed_secret, ("tgp_v1_", "together")),
    _r("fireworks_api_key", "Fireworks AI API key", _tok(r"fw_[A-Za-z0-9]{24}"), HIGH,
       v.is_prefixed_secret, ("fw_",)),
    _r("perplexity_api_key", "Perplexity API key", _tok(r"pplx-[A-Za-z0-9]{48}"), HIGH,
       v.is_prefixed_secret, ("pplx-",)),
    _r("langsmith_api_key", "LangSmith API key",
       _tok(r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}"), HIGH, v.is_hex_random, ("lsv2_",)),
)  # fmt: skip

_PAYMENTS: tuple[SecretRule, ...] = (
    _r("stripe_secret_key", "Stripe secret key",
       _tok(r"sk_(?:live|test|prod)_[A-Za-z0-9]{10,247}"), CRITICAL, v.is_prefixed_secret,
       ("sk_live_",)),
    _r("stripe_restricted_key", "Stripe restricted key",
       _tok(r"rk_(?:live|test|prod)_[A-Za-z0-9]{10,247}"), HIGH, v.is_prefixed_secret,
       ("rk_live_",)),
    _r("stripe_webhook_secret", "Stripe webhook signing secret",
       _tok(r"whsec_[A-Za-z0-9]{32,}"), HIGH, v.is_prefixed_secret, ("whsec_",)),
    _r("square_access_token", "Square access token",
       _tok(r"sq0atp-[A-Za-z0-9_\-]{22}|EAAA[A-Za-z0-9_\-+=]{60}"), HIGH, v.is_prefixed_secret,
       ("sq0atp-", "EAAA")),
    _r("square_oauth_secret", "Square OAuth secret", _tok(r"sq0csp-[A-Za-z0-9_\-]{43}"), HIGH,
       v.is_prefixed_secret, ("sq0csp-",)),
    _r("braintree_access_token", "PayPal Braintree access token",
       r"\b(?P<secret>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})",
       CRITICAL, _not_placeholder, ("access_token$production$",)),
    _r("shippo_api_token", "Shippo API token", _tok(r"shippo_(?:live|test)_[a-fA-F0-9]{40}"),
       HIGH, v.is_hex_random, ("shippo_",)),
    _r("flutterwave_key", "Flutterwave secret / encryption key",
       _tok(r"FLW(?:SEC|PUB)K(?:_TEST)?-[a-hA-H0-9]{32}(?:-X)?|FLWSECK(?:_TEST)?-?[a-hA-H0-9]{12}"),
       HIGH, _not_placeholder, ("FLWSECK",)),
    _r("coinbase_access_token", "Coinbase access token",
       _ctx("coinbase", r"[A-Za-z0-9_\-]{64}"), HIGH, v.is_keyed_secret, ("coinbase",)),
    _r("gocardless_api_token", "GoCardless access token",
       _tok(r"(?:live|sandbox)_[A-Za-z0-9_=\-]{40}"), HIGH,
       lambda s: v.is_random_token(s, min_entropy=3.5), ("live_", "sandbox_")),
    _r("lob_api_key", "Lob API / publishable key",
       _tok(r"(?:live|test)_[a-f0-9]{35}|(?:live|test)_pub_[a-f0-9]{31}"), HIGH,
       v.is_hex_random, ("live_", "test_", "test_pub_")),
    _r("plaid_secret", "Plaid secret", _ctx("plaid", r"[a-f0-9]{30}"), HIGH, v.is_hex_random,
       ("plaid",)),
)  # fmt: skip

_MESSAGING: tuple[SecretRule, ...] = (
    _r("slack_bot_token", "Slack bot token",
       _tok(r"xoxb-[0-9]{10,13}-[0-9]{10,13}-?[A-Za-z0-9\-]*|xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}"),
       HIGH, v.is_prefixed_secret, ("xoxb-",)),
    _r("slack_user_token", "Slack user token",
       _tok(r"xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9\-]{28,34}"), HIGH, v.is_prefixed_secret,
       ("xoxp-",)),
    _r("slack_app_token", "Slack app-level token",
       _tok(r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+"), HIGH, v.is_prefixed_secret, ("xapp-",),
       caseless=True),
    _r("slack_config_token", "Slack configuration token",
       _tok(r"xoxe\.xox[bp]-\d-[A-Za-z0-9]{100,200}|xoxe-\d-[A-Za-z0-9]{100,200}"), HIGH,
       v.is_prefixed_secret, ("xoxe.",)),
    _r("slack_legacy_token", "Slack legacy / workspace token",
       _tok(r"xox[ar]-(?:\d-)?[0-9A-Za-z\-]{8,80}|xox[os]-\d+-\d+-\d+-[A-Fa-f\d]+"), HIGH,
       v.is_keyed_secret, ("xoxa-", "xoxr-")),
    _r("slack_webhook_url", "Slack incoming webhook URL",
       r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_\-]{20,140})",
       HIGH, v.is_keyed_secret, ("hooks.slack.com",)),
    _r("discord_bot_token", "Discord bot token",
       _tok(r"[MNO][A-Za-z\d_\-]{23,25}\.[A-Za-z\d_\-]{6}\.[A-Za-z\d_\-]{27,38}"), HIGH,
       v.is_prefixed_secret, ("discord",)),
    _r("discord_webhook_url", "Discord webhook URL",
       r"discord(?:app)?\.com/api/webhooks/\d{17,20}/(?P<secret>[A-Za-z0-9_\-]{60,68})", HIGH,
       v.is_keyed_secret, ("discord.com/api/webhooks",)),
    _r("discord_client_secret", "Discord client secret",
       _ctx("discord", r"[a-f0-9]{64}|[A-Za-z0-9_\-]{32}"), HIGH, v.is_keyed_secret,
       ("discord",)),
    _r("telegram_bot_token", "Telegram bot token",
       r"(?:\b|bot)(?P<secret>\d{8,10}:AA[0-9A-Za-z_\-]{33})" + _END, HIGH, v.is_keyed_secret,
       ("telegram", "api.telegram.org/bot")),
    _r("twilio_api_key", "Twilio API key SID",
       _tok(r"SK[0-9a-f]{32}"), HIGH, v.is_hex_random, ("twilio", "SK")),
    _r("twilio_auth_token", "Twilio auth token",
       _ctx("twilio", r"[a-f0-9]{32}"), HIGH, v.is_hex_random, ("twilio",)),
    _r("sendgrid_api_key", "SendGrid API key",
       _tok(r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}|SG\.[A-Za-z0-9=_\-.]{66}"), HIGH,
       v.is_prefixed_secret, ("SG.",)),
    _r("mailgun_api_key", "Mailgun API / public key",
       _tok(r"(?:key|pubkey)-[a-f0-9]{32}"), HIGH, v.is_hex_random, ("mailgun", "key-")),
    _r("mailgun_signing_key", "Mailgun webhook signing key",
       _ctx("mailgun", r"[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}"), HIGH, v.is_hex_random,
       ("mailgun",)),
    _r("mailchimp_api_key", "Mailchimp API key",
       _tok(r"[0-9a-f]{32}-us\d{1,2}"), HIGH, v.is_hex_random, ("mailchimp", "-us")),
    _r("sendinblue_api_key", "Brevo (Sendinblue) API key",
       _tok(r"xkeysib-[a-f0-9]{64}(?:-[A-Za-z0-9]{16})?"), HIGH, v.is_hex_random, ("xkeysib-",)),
    _r("messagebird_api_key", "MessageBird API key",
       _ctx(r"message[_.\-]?bird", r"[A-Za-z0-9]{25}"), HIGH, v.is_keyed_secret,
       ("messagebird",)),
)  # fmt: skip

_DEVTOOLS: tuple[SecretRule, ...] = (
    _r("npm_access_token", "npm access token", _tok(r"npm_[A-Za-z0-9]{36}"), HIGH,
       v.is_prefixed_secret, ("npm_",)),
    _r("npmrc_auth_token", "npm registry auth token (.npmrc)",
       r"//[^\s:/]+(?:/[^\s:]*)?/:_authToken=[ \t]*(?P<secret>[A-Za-z0-9_\-+/=]{20,})", HIGH,
       _not_placeholder, ("_authToken",)),
    _r("pypi_upload_token", "PyPI upload token",
       _tok(r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{32,}"), HIGH,
       _not_placeholder, ("pypi-AgEIcHlwaS5vcmc",)),
    _r("docker_hub_token", "Docker Hub access token", _tok(r"dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,}"),
       HIGH, v.is_prefixed_secret, ("dckr_pat_",)),
    _r("rubygems_api_token", "RubyGems API token", _tok(r"rubygems_[a-f0-9]{48}"), HIGH,
       v.is_hex_random, ("rubygems_",)),
    _r("clojars_api_token", "Clojars deploy token", _tok(r"CLOJARS_[A-Za-z0-9]{60}"), HIGH,
       v.is_prefixed_secret, ("CLOJARS_",), caseless=True),
    _r("artifactory_api_key", "JFrog Artifactory API key / reference token",
       _tok(r"AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59}"), HIGH, v.is_prefixed_secret,
       ("AKCp", "cmVmd")),
    _r("jfrog_identity_token", "JFrog identity token",
       _ctx(r"jfrog|artifactory|bintray|xray", r"[A-Za-z0-9]{64}|[A-Za-z0-9]{73}"), HIGH,
       v.is_keyed_secret, ("jfrog", "artifactory")),
    _r("postman_api_key", "Postman API key", _tok(r"PMAK-[a-f0-9]{24}(?:-[a-f0-9]{34})?"), HIGH,
       v.is_hex_random, ("PMAK-",), caseless=True),
    _r("terraform_cloud_token", "Terraform Cloud / HCP API token",
       _tok(r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9=_\-]{60,70}"), HIGH, v.is_prefixed_secret,
       ("atlasv1",)),
    _r("vault_service_token", "HashiCorp Vault service token",
       _tok(r"hvs\.[A-Za-z0-9_\-]{90,120}|s\.[A-Za-z0-9]{24}"), CRITICAL,
       lambda s: v.is_random_token(s, min_entropy=3.5), ("hvs.",)),
    _r("vault_batch_token", "HashiCorp Vault batch token",
       _tok(r"hvb\.[A-Za-z0-9_\-]{138,300}"), CRITICAL, v.is_prefixed_secret, ("hvb.",)),
    _r("pulumi_access_token", "Pulumi access token", _tok(r"pul-[a-f0-9]{40}"), HIGH,
       v.is_hex_random, ("pul-",)),
    _r("doppler_token", "Doppler token",
       _tok(r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}"), HIGH, v.is_prefixed_secret,
       ("dp.pt.",)),
    _r("onepassword_service_account_token", "1Password service account token",
       _tok(r"ops_eyJ[A-Za-z0-9+/]{250,}={0,3}", _END_B64), CRITICAL, v.is_prefixed_secret,
       ("ops_eyJ",)),
    _r("onepassword_secret_key", "1Password account secret key",
       _tok(r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
            r"-[A-Z0-9]{5}"), CRITICAL, v.is_prefixed_secret, ("A3-",)),
    _r("age_secret_key", "age encryption secret key",
       _tok(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"), CRITICAL,
       _not_placeholder, ("AGE-SECRET-KEY-1",)),
    _r("grafana_cloud_token", "Grafana Cloud API token",
       _tok(r"glc_[A-Za-z0-9+/]{32,400}={0,2}", _END_B64), HIGH, v.is_prefixed_secret, ("glc_",)),
    _r("grafana_service_account_token", "Grafana service account token",
       _tok(r"glsa_[A-Za-z0-9]{32}(?:_[A-Fa-f0-9]{8})?"), HIGH, v.is_prefixed_secret, ("glsa_",)),
    _r("grafana_api_key", "Grafana API key", _tok(r"eyJrIjoi[A-Za-z0-9]{70,400}={0,2}", _END_B64),
       HIGH, v.is_prefixed_secret, ("eyJrIjoi",)),
    _r("sentry_dsn", "Sentry DSN with key",
       r"https?://(?P<secret>[a-f0-9]{32})(?::[a-f0-9]{32})?@[\w.\-]*(?:sentry|ingest)[\w.\-]*"
       r"(?::\d+)?/\d+", MEDIUM, v.is_hex_random, ("sentry",)),
    _r("sentry_token", "Sentry auth token",
       _tok(r"sntrys_eyJ[A-Za-z0-9+/=_\-]{60,}|sntryu_[a-f0-9]{64}", _END_B64) + "|"
       + _ctx("sentry", r"[a-f0-9]{64}").replace(_SECRET, _SECRET2),
       HIGH, v.is_keyed_secret, ("sntrys_", "sntryu_")),
    _r("new_relic_key", "New Relic key",
       _tok(r"NRAK-[A-Za-z0-9]{27}|NRII-[A-Za-z0-9_\-]{32}|NRJS-[a-f0-9]{19}") + "|"
       + _ctx(r"new[_.\-]?relic", r"[A-Za-z0-9_\-]{64}").replace(_SECRET, _SECRET2),
       HIGH, v.is_keyed_secret, ("NRAK-", "NRII-", "NRJS-")),
    _r("datadog_api_key", "Datadog API / application key",
       _ctx(r"datadog|dd[_.\-]api[_.\-]?key|dd[_.\-]app(?:lication)?[_.\-]?key",
            r"[a-f0-9]{40}|[a-f0-9]{32}"), HIGH, v.is_hex_random, ("datadog", "DD_API_KEY")),
    _r("shopify_access_token", "Shopify access token",
       _tok(r"shp(?:at|ca|pa)_[a-fA-F0-9]{32}"), HIGH, v.is_hex_random, ("shpat_",)),
    _r("shopify_shared_secret", "Shopify shared secret", _tok(r"shpss_[a-fA-F0-9]{32}"), HIGH,
       v.is_hex_random, ("shpss_",)),
    _r("linear_api_key", "Linear API key", _tok(r"lin_api_[A-Za-z0-9]{40}") + "|"
       + _ctx("linear", r"[a-f0-9]{32}").replace(_SECRET, _SECRET2),
       HIGH, v.is_keyed_secret, ("lin_api_",)),
    _r("notion_token", "Notion integration token",
       _tok(r"ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43}"), HIGH, v.is_prefixed_secret,
       ("ntn_", "secret_")),
    _r("asana_token", "Asana client ID / secret / personal access token",
       _ctx("asana", r"[0-9]{16}|[A-Za-z0-9]{32}|[0-9]/[0-9]{10,20}:[A-Za-z0-9]{32}"), HIGH,
       v.is_keyed_secret, ("asana",)),
    _r("linkedin_client_secret", "LinkedIn client ID / secret",
       _ctx(r"linked[_.\-]?in", r"[A-Za-z0-9]{14}|[A-Za-z0-9]{16}"), HIGH, v.is_keyed_secret,
       ("linkedin",)),
    _r("sonarqube_token", "SonarQube / SonarCloud token",
       _tok(r"sq[pua]_[a-f0-9]{40}") + "|"
       + _ctx("sonar", r"[a-f0-9]{40}").replace(_SECRET, _SECRET2),
       HIGH, v.is_hex_random, ("sqp_", "squ_", "sqa_", "sonar")),
    _r("okta_api_token", "Okta API token", _ctx("okta", r"00[A-Za-z0-9_\-]{40}"), HIGH,
       v.is_keyed_secret, ("okta",)),
    _r("planetscale_token", "PlanetScale password / API / OAuth token",
       _tok(r"pscale_(?:pw|tkn|oauth)_[A-Za-z0-9=\-_.]{32,64}"), HIGH, v.is_prefixed_secret,
       ("pscale_",)),
    _r("prefect_api_key", "Prefect API key", _tok(r"pnu_[A-Za-z0-9]{36}"), HIGH,
       v.is_prefixed_secret, ("pnu_",)),
    _r("readme_api_token", "ReadMe API token", _tok(r"rdme_[A-Za-z0-9]{70}"), HIGH,
       v.is_prefixed_secret, ("rdme_",)),
    _r("scalingo_api_token", "Scalingo API token", _tok(r"tk-us-[A-Za-z0-9_\-]{48}"), HIGH,
       v.is_prefixed_secret, ("tk-us-",)),
    _r("typeform_api_token", "Typeform API token", _tok(r"tfp_[A-Za-z0-9_.=\-]{59}"), HIGH,
       v.is_prefixed_secret, ("tfp_",)),
    _r("frameio_api_token", "Frame.io API token", _tok(r"fio-u-[A-Za-z0-9_=\-]{64}"), HIGH,
       v.is_prefixed_secret, ("fio-u-",)),
    _r("defined_networking_token", "Defined Networking API token",
       _tok(r"dnkey-[A-Za-z0-9=_\-]{26}(?:-[A-Za-z0-9=_\-]{52})?"), HIGH, v.is_prefixed_secret,
       ("dnkey-",)),
    _r("duffel_api_token", "Duffel API token", _tok(r"duffel_(?:test|live)_[A-Za-z0-9_=\-]{43}"),
       HIGH, v.is_prefixed_secret, ("duffel_",)),
    _r("sourcegraph_token", "Sourcegraph access token",
       _tok(r"sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}|sgp_[a-fA-F0-9]{40}") + "|"
       + _ctx("sourcegraph", r"[a-fA-F0-9]{40}").replace(_SECRET, _SECRET2),
       HIGH, v.is_hex_random, ("sgp_", "sourcegraph")),
    _r("settlemint_token", "SettleMint access token", _tok(r"sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}"),
       HIGH, v.is_prefixed_secret, ("sm_pat_", "sm_aat_", "sm_sat_")),
    _r("octopus_deploy_api_key", "Octopus Deploy API key", _tok(r"API-[A-Z0-9]{26}"), HIGH,
       v.is_prefixed_secret, ("API-", "octopus")),
    _r("intra42_client_secret", "42 Intra client secret", _tok(r"s-s4t2(?:ud|af)-[a-f0-9]{64}"),
       HIGH, v.is_hex_random, ("s-s4t2ud-",)),
    _r("harness_api_key", "Harness API key",
       _tok(r"(?:pat|sat)\.[A-Za-z0-9_\-]{22}(?:\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20})?"), HIGH,
       v.is_prefixed_secret, ("pat.", "sat.")),
    _r("infracost_api_token", "Infracost API token",
       r"(?:^|[^\w./\-])(?P<secret>ico-[A-Za-z0-9]{32})" + _END, HIGH,
       v.is_keyed_secret, ("ico-",)),
    _r("mapbox_token", "Mapbox token",
       _tok(r"sk\.eyJ[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{22}"
            r"|[ps]k\.[A-Za-z0-9]{60}(?:\.[A-Za-z0-9_\-]{22})?"),
       HIGH, v.is_prefixed_secret, ("sk.eyJ",)),
    _r("dynatrace_api_token", "Dynatrace API token",
       _tok(r"dt0c01\.[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{64})?"), HIGH, v.is_prefixed_secret,
       ("dt0c01.",)),
    _r("easypost_api_token", "EasyPost API token", _tok(r"EZ[AT]K[A-Za-z0-9]{54}"), HIGH,
       v.is_prefixed_secret, ("EZAK",)),
    _r("airtable_pat", "Airtable personal access token",
       _tok(r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}"), HIGH, v.is_prefixed_secret, ("pat",)),
    _r("adobe_client_secret", "Adobe client secret", _tok(r"p8e-[A-Za-z0-9]{32}"), HIGH,
       v.is_prefixed_secret, ("p8e-",), caseless=True),
    _r("facebook_access_token", "Facebook / Meta access token",
       _tok(r"EAA[MC][A-Za-z0-9]{100,}|\d{15,16}(?:\||%7C)[A-Za-z0-9_\-]{27,40}"), HIGH,
       v.is_prefixed_secret, ("EAAM", "EAAC", "app_id|app_secret")),
    _r("sidekiq_secret", "Sidekiq Enterprise credentials",
       r"(?i:BUNDLE_ENTERPRISE__CONTRIBSYS__COM|BUNDLE_GEMS__CONTRIBSYS__COM)[ \t]*[=:][ \t]*"
       r"['\"]?(?P<secret>[a-f0-9]{8}:[a-f0-9]{8})"
       r"|https?://(?P<secret2>[a-f0-9]{8}:[a-f0-9]{8})@(?:gems|enterprise)\.contribsys\.com",
       HIGH, _not_placeholder, ("contribsys",)),
)  # fmt: skip

_KEYS_AND_URLS: tuple[SecretRule, ...] = (
    _r("private_key", "PEM / OpenSSH / PGP private key",
       r"-----BEGIN[ A-Z0-9_]{0,40}PRIVATE KEY(?: BLOCK)?-----(?P<secret>" + _PEM_BODY + r"+)",
       CRITICAL, v.is_key_body, ("BEGIN PRIVATE KEY",)),
    _r("jwt", "JSON Web Token",
       _tok(r"(?:eyJ|ewo)[A-Za-z0-9_\-]{10,}\.(?:eyJ|ewo)[A-Za-z0-9_\-]{4,}(?:\.[A-Za-z0-9_\-]*)?"),
       MEDIUM, v.is_jwt, ("eyJ",)),
    _r("database_url", "Database URL with password",
       r"\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver"
       r"|clickhouse|cockroachdb|couchdb|neo4j(?:\+s)?|bolt)://" + _PASSWORD_URL_USER
       + r":(?P<secret>" + _URL_PASSWORD + r")@[\w.\-\[\]]+",
       HIGH, v.is_url_password, ("postgres://", "mysql://", "mongodb+srv://", "redis://")),
    _r("url_credentials", "Credentials embedded in a URL",
       r"\b[a-z][a-z0-9+.\-]{1,20}://" + _PASSWORD_URL_USER
       + r":(?P<secret>" + _URL_PASSWORD + r")@[\w.\-]+",
       MEDIUM, v.is_url_token, ("https://user:pass@",), generic=True),
    _r("bearer_token", "Bearer / token in an Authorization header",
       r"(?i:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?\s*"
       r"(?i:bearer|token|api-token|sso-key)?\s*"
       r"(?P<secret>[A-Za-z0-9._~+/=\-]{8,}[A-Za-z0-9._~+/=\-@]*)",
       HIGH, v.is_header_secret, ("Authorization: Bearer",), generic=True),
    _r("basic_auth_header", "HTTP Basic credentials",
       r"(?i:authorization)[\"']?\s*[:=]\s*[\"']?\s*(?i:basic)\s+(?P<secret>[A-Za-z0-9+/]{6,}={0,2})",
       HIGH, lambda s: v.is_basic_credentials(s), ("Authorization: Basic",)),
    _r("api_key_header", "API key request header",
       r"(?i:x-api-key|api-key|apikey|api-token|x-auth-token|x-[a-z]+-api-?key|private-token)"
       r"[\"']?\s*:\s*[\"']?(?P<secret>[A-Za-z0-9._~+/=\-]{8,})",
       HIGH, v.is_header_secret, ("X-API-Key",), generic=True),
    _r("curl_credentials", "curl --user credentials",
       r"\bcurl\b(?s:.)*?\s(?:-u|--user)[ \t]*['\"]?"
       r"(?P<secret>[^\s'\":]{0,100}['\"]?:['\"]?[^\s'\"]{0,200})",
       HIGH, v.is_curl_user, ("curl -u",), generic=True),
    _r("generic_uuid_token", "UUID-shaped API token assigned to a token-named field",
       r"(?i:token|secret|api[_.\-]?key|apikey|password)['\"]?[ \t]*(?:=|:=|:|=>|>)[`'\"\s]{0,5}"
       r"(?P<secret>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
       + _END, MEDIUM, v.is_random_uuid, ("token", "api_key"), generic=True),
    _r("generic_secret_assignment", "Secret-looking value assigned to a secret-named field",
       _ctx(_GENERIC_KEYS, _GENERIC_VALUE, bounded=False, comma=False), MEDIUM, _generic_value,
       ("password", "secret", "token", "api_key"), generic=True),
)  # fmt: skip

_FINANCIAL: tuple[SecretRule, ...] = (
    _r("credit_card", "Payment card number",
       r"\b(?P<secret>(?:4\d{3}|5[1-5]\d{2}|2[2-7]\d{2}|6011|65\d{2})(?:[ \-]?\d{4}){3}"
       r"|3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5})\b",
       HIGH, v.is_card_number, ("visa", "mastercard", "amex")),
    _r("iban", "International bank account number",
       r"\b(?P<secret>[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?)\b",
       MEDIUM, v.iban_ok, ("IBAN",)),
    _r("ethereum_private_key", "Ethereum / hex private key",
       _ctx(r"priv(?:ate)?[_.\-]?key|wallet[_.\-]?key|eth[_.\-]?key|signer[_.\-]?key"
            r"|mnemonic|deployer[_.\-]?key", r"(?:0x)?[a-fA-F0-9]{64}"),
       CRITICAL, v.is_hex_random, ("private_key", "wallet")),
    _r("bitcoin_wif", "Bitcoin WIF private key",
       _tok(r"[5KL][1-9A-HJ-NP-Za-km-z]{50,51}"), CRITICAL, v.is_bitcoin_wif, ("WIF",)),
    _r("bip39_seed_phrase", "BIP-39 seed phrase",
       r"\b(?P<secret>[a-z]{3,8}(?:[ \t]+[a-z]{3,8}){11,47})\b", CRITICAL, v.has_seed_phrase,
       ("mnemonic", "seed phrase")),
)  # fmt: skip

RULES: tuple[SecretRule, ...] = (
    _CLOUD + _CODE_HOSTING + _AI + _PAYMENTS + _MESSAGING + _DEVTOOLS + _KEYS_AND_URLS + _FINANCIAL
)


# Keywords of the specific rules that are distinctive prefixes: at least five characters,
# ending in a separator, and not an English word (`test_`, `live_`, `secret_` open ordinary
# values too).
_PLAIN_PREFIXES = frozenset({"test_", "live_", "secret_", "sandbox_", "test_pub_"})
VENDOR_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            k
            for r in RULES
            if not r.generic
            for k in r.keywords
            if len(k) >= 5 and k[-1] in "_-." and k not in _PLAIN_PREFIXES
        }
    )
)


def rule_ids() -> frozenset[str]:
    """Every DLP rule id (for policy validation and the every-rule-is-tested check)."""
    return frozenset(r.id for r in RULES)
