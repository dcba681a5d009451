import { z } from 'zod';
import { VERSION_PATTERN } from './negotiation.js';

/** The `hello` parameters: the protocol version and capabilities, and the spec's component_registration. */
const names = z.array(z.string().min(1).max(200)).max(100).default([]);
const version = z.string().regex(VERSION_PATTERN, 'a version is MAJOR.MINOR.PATCH, e.g. "1.1.0"');

export const helloParams = z.strictObject({
  protocol_version: version.describe('the protocol version the client speaks; same MAJOR: accepted at the lower of both versions'),
  capabilities: names.describe("the client's protocol capabilities; the answer says which both have"),
  component_registration: z
    .strictObject({
      component_id: z.string().min(1).max(128),
      component_type: z.string().min(1).max(64),
      version: z.string().min(1).max(64).describe("the component's own version"),
      capabilities: names,
      dependencies: names.describe('component ids; health shows their status (coordination-hub is the hub)'),
      event_subscriptions: names.describe('patterns: subscribed for this connection, events pushed as in subscribe-event'),
      event_publications: names.describe('what it says it publishes: listed in health'),
      health_check_endpoint: z.string().min(1).optional().describe('accepted; troupe calls no component: its health is its connection'),
      performance_metrics: names.describe('names listed in health; troupe measures requests, errors and response time itself'),
    })
    .optional()
    .describe('register this connection as a component of the spec (listed in health while connected)'),
});

