"""Development and test tools: the local stack runner and an SMTP mail sink."""
