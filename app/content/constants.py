"""Content constants."""

# Keyword replies are cached per process and re-read this often (off the request path).
KEYWORD_REFRESH_INTERVAL_S = 10.0
# Ops-entered patterns stay short; long ones are where catastrophic backtracking hides.
MAX_KEYWORD_LENGTH = 200
MAX_REPLY_LENGTH = 2000
# Only the head of a long message is matched against regex rules.
MAX_MATCHED_TEXT = 600

# -- Custom menus (FACTS.md §5.4; byte limits "unconfirmed" there, the simulator enforces them) --
MENU_MAX_BUTTONS = 3
MENU_MAX_SUB_BUTTONS = 5
MENU_TOP_NAME_BYTES = 16
MENU_SUB_NAME_BYTES = 60
MENU_KEY_BYTES = 128
MENU_URL_BYTES = 1024
MENU_TAG_NAME_BYTES = 30  # WeChat tag names (45158 beyond)
# Enough for the default menu plus a menu per segment; each one is an API call on publish.
MENU_MAX_CONDITIONAL = 10
MENU_YAML_MAX_BYTES = 64 * 1024
MENU_NOTE_MAX = 200
# Buttons whose event carries `key`; the rest carry a URL, a mini-program page or a media id.
MENU_KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
MENU_BUTTON_TYPES = MENU_KEY_TYPES | {
    "view",
    "miniprogram",
    "media_id",
    "article_id",
    "article_view_limited",
}
# `{base_url}` in a menu URL is this service's public base URL, filled in when rendering.
BASE_URL_PLACEHOLDER = "{base_url}"
# client_platform_type of a conditional menu: 1 iOS, 2 Android, 3 others.
CLIENT_PLATFORMS = frozenset({"1", "2", "3"})
# WeChat tag that marks fans with a bound brokerage account (kept in sync by the segments
# feature); the built-in menu shows them the account-center menu.
BOUND_CUSTOMER_TAG = "bound_customer"

# -- Articles and the "最新资讯" menu key --------------------------------------------------
LATEST_NEWS_KEY = "MENU_LATEST_NEWS"
# Passive news replies carry one article (FACTS.md §1.1: 1 for message replies, "up to 8"
# otherwise is unconfirmed); one card is what every client renders the same way.
NEWS_REPLY_ARTICLES = 1
ARTICLE_TITLE_MAX = 64
ARTICLE_DIGEST_MAX = 120
ARTICLE_URL_MAX = 1024
# Latest articles kept in the per-process cache for the menu key.
LATEST_ARTICLES_CACHED = 8
