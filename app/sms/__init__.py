"""SMS adapter: the SmsSender Protocol, an httpx client and a sandbox sender."""
