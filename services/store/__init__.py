"""Store service: dedupe by URL, keep the latest version, publish the changelog."""
