"""What reaches the holder: downloads, certificates, images, manage links and visibility, expiry
notices.
"""
