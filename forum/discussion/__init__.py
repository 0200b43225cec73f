"""The e-forum: who may post, acceptance and moderation, threads, notices, digests, the inbound pipe."""
