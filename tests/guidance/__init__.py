"""Tests for alteredavatar.guidance."""
