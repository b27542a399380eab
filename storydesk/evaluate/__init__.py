"""Evaluations of storydesk's stages against labelled data."""
