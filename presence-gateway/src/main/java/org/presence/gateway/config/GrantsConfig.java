package org.presence.gateway.config;

/**
 * Limits on users' grants (issue 12 item 5), so that one user cannot make an application's updates
 * grow with grants: every grant is one more PUID that each presence change reaches.
 *
 * @param maxPerApp live grants (enabled or paused) one user may hold for one application, with
 *     distinct user strings
 * @param maxPerUser live grants one user may hold in all
 * @param rate grant requests (new or confirmed) one user may make per second, on each node
 * @param burst grant requests one user may make at once
 */
public record GrantsConfig(int maxPerApp, int maxPerUser, double rate, int burst) {}
