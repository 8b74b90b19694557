"""WeChat adapter: callback crypto, inbound message models, passive replies, API client."""
