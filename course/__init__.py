"""The course's pages: ``panel serve course/`` serves them all as one app at /course."""
