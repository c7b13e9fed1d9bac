"""Everything the support team sees in Slack: detractor alerts and their Block Kit."""
