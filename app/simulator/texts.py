"""Chinese text the simulated WeChat shows fans: the seeded template messages of the account."""

from __future__ import annotations

PRIMARY_INDUSTRY = "金融业"
DEPUTY_INDUSTRY = "证券|基金|理财|信托"

# (template_id, title, content, example). Ids are stable so docs and dev settings can name them.
SEEDED_TEMPLATES: tuple[tuple[str, str, str, str], ...] = (
    (
        "SimTradeFill_b1Qz7VbH9sKf2LmN4pR6tW8yA0cE3g",
        "委托成交提醒",
        "证券名称：{{thing1.DATA}}\n成交方向：{{phrase2.DATA}}\n成交价格：{{amount3.DATA}}\n"
        "成交数量：{{number4.DATA}}\n成交时间：{{time5.DATA}}",
        "证券名称：贵州茅台\n成交方向：买入\n成交价格：¥1688.00\n成交数量：100\n"
        "成交时间：2026-01-05 10:31:02",
    ),
    (
        "SimPriceAlert_c2Rz8WcJ0tLg3MnP5qS7uX9zB1dF4",
        "股价提醒",
        "证券名称：{{thing1.DATA}}\n当前价格：{{amount2.DATA}}\n提醒条件：{{thing3.DATA}}\n"
        "提醒时间：{{time4.DATA}}",
        "证券名称：招商银行\n当前价格：¥35.20\n提醒条件：股价高于35.00元\n"
        "提醒时间：2026-01-05 14:02",
    ),
    (
        "SimFundsMove_d3Sa9XdK1uMh4NoQ6rT8vY0aC2eG5h",
        "资金变动提醒",
        "变动类型：{{thing1.DATA}}\n变动金额：{{amount2.DATA}}\n资金账号：{{character_string3.DATA}}\n"
        "变动时间：{{time4.DATA}}",
        "变动类型：银证转入\n变动金额：¥50000.00\n资金账号：****6789\n变动时间：2026-01-05 09:15",
    ),
    (
        "SimIpoResult_e4Tb0YeL2vNi5OpR7sU9wZ1bD3fH6k",
        "新股中签提醒",
        "证券名称：{{thing1.DATA}}\n中签数量：{{number2.DATA}}\n缴款日期：{{date3.DATA}}",
        "证券名称：某某科技\n中签数量：500\n缴款日期：2026-01-07",
    ),
    (
        "SimSecurity_f5Uc1ZfM3wOj6PqS8tV0xA2cE4gI7jK",
        "账户安全提醒",
        "提醒事项：{{thing1.DATA}}\n发生时间：{{time2.DATA}}\n登录地点：{{thing3.DATA}}",
        "提醒事项：新设备登录\n发生时间：2026-01-05 21:40\n登录地点：上海",
    ),
    (
        "SimServiceNote_g6Vd2AgN4xPk7QrT9uW1yB3dF5hJ",
        "业务办理通知",
        "{{first.DATA}}\n业务类型：{{keyword1.DATA}}\n办理状态：{{keyword2.DATA}}\n{{remark.DATA}}",
        "业务类型：风险测评\n办理状态：已完成",
    ),
)
