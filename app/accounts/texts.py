"""Fan-facing Chinese text of the binding feature (pages, errors, text commands)."""

from __future__ import annotations

PAGE_TITLE = "绑定证券账户"
PRIVACY_NOTICE_TITLE = "个人信息保护告知"
PRIVACY_NOTICE = (
    "为向您提供账户查询与消息提醒服务，我们将在您授权后处理以下信息：您的微信用户标识（openid）、"
    "经脱敏的资金账号（仅保留后四位）以及柜台系统返回的账户引用编号。您的交易密码在您的手机上加密后"
    "直接交由证券公司柜台系统验证，本服务不保存、不记录您的密码。您可随时在本页面或通过发送“解绑”"
    "解除绑定，解除后我们将停止查询您的账户信息。"
)
FINANCIAL_CONSENT = (
    "我已阅读并单独同意：本服务在我每次查询时向证券公司柜台系统读取我的资产、负债、持仓、委托、"
    "资金流水与新股申购等个人金融信息，仅用于向我本人展示，不向任何第三方提供。"
)
PRIVACY_CONSENT = "我已阅读并同意《个人信息保护告知》"

# Error messages by error code (the H5 API returns them as the problem `detail`).
CONSENT_REQUIRED = "请先阅读并勾选《个人信息保护告知》及个人金融信息单独授权。"
CONSENT_OUTDATED = "告知内容已更新，请刷新页面后重新阅读并确认。"
BAD_CREDENTIALS = "资金账号或交易密码错误，请核对后重试。"
BAD_CREDENTIALS_LEFT = "资金账号或交易密码错误，还可尝试{left}次。"
PASSWORD_UNDECRYPTABLE = "密码加密信息已过期，请刷新页面后重新输入。"  # noqa: S105 - a message
BAD_SMS_CODE = "短信验证码错误或已失效，请重新获取。"
ACCOUNT_LOCKED = "该账户因多次验证失败已被锁定，请于{until}后再试，或联系客服95500。"
ACCOUNT_LOCKED_BRANCH = "该账户已被锁定，请携带身份证件到营业部或联系客服95500解锁。"
ACCOUNT_FAILURE_LOCKED = "该账户验证失败次数过多，已暂时锁定，请{minutes}分钟后再试。"
RATE_LIMITED = "操作过于频繁，请{wait}后再试。"
MAINTENANCE = "证券柜台系统正在例行维护（每日约23:30至次日00:30），请稍后再试。"
MAINTENANCE_UNTIL = "证券柜台系统正在例行维护，预计{until}恢复，请稍后再试。"
UNAVAILABLE = "证券柜台系统暂时繁忙，请稍后再试。"
ALREADY_BOUND = "该账户已绑定，无需重复绑定。"
BOUND_ELSEWHERE = "该账户已绑定其他微信号，请先在原微信中解绑，或联系客服95500。"
TOO_MANY_BINDINGS = "每个微信号最多绑定{limit}个账户，请先解绑不用的账户。"
BINDING_NOT_FOUND = "未找到该绑定账户，请刷新页面。"
SESSION_REQUIRED = "登录已过期，请从公众号菜单重新进入。"
CSRF_FAILED = "页面已过期，请刷新后重试。"
OAUTH_FAILED = "微信授权失败，请从公众号菜单重新进入。"

SMS_SENT = "验证码已发送至{phone}，{minutes}分钟内有效。"
BOUND_OK = "绑定成功：{account}"

# Text commands (webhook).
UNBIND_DONE = "已解除资金账号 {account} 的绑定。如需重新绑定，请点击菜单“绑定账户”。"
UNBIND_DONE_NEW_DEFAULT = "已解除资金账号 {account} 的绑定，默认账户已切换为 {default}。"
UNBIND_NOTHING = "您尚未绑定证券账户，无需解绑。点击菜单“绑定账户”即可绑定。"
UNBIND_CHOOSE = "您绑定了多个账户，请回复“解绑 尾号”，例如“解绑 {example}”：\n{accounts}"
UNBIND_NOT_FOUND = "未找到尾号为 {last4} 的绑定账户。您绑定的账户：\n{accounts}"
UNBIND_AMBIGUOUS = "尾号 {last4} 对应多个账户，请在“绑定账户”页面中解绑。"
BIND_PROMPT_TITLE = "绑定证券账户"
BIND_PROMPT_DESCRIPTION = "绑定后可随时查询资产、持仓、委托和新股中签，点击开始绑定。"
ACCOUNT_TYPE_NAMES = {"cash": "普通账户", "margin": "信用账户"}
DEFAULT_MARK = "（默认）"
