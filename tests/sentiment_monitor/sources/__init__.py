"""Tests of the network sources against fake Mastodon and Bluesky servers on 127.0.0.1."""
