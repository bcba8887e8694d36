"""Building crosslingual instruction data: bitext readers, noise, objectives, templates, replay."""
