/**
 * What happened in the registry, as typed events, and a hook that may refuse a manifest push
 * before it is stored. Notifications (zot's events extension), the metadata store and embedders
 * subscribe here instead of re-deriving changes from HTTP requests: every change made through a
 * {@link Registry} (any adapter, or code calling it directly) and every removal by garbage
 * collection or retention is announced, once, after it took effect.
 */
import type { Identity } from './auth.js';
import type { ManifestInfo } from './manifest.js';

/** Who caused a change or a pull, when known (requests through the HTTP handler always say). */
export interface EventActor {
  identity?: Identity | undefined;
  remoteAddress?: string | undefined;
}

interface EventBase {
  repository: string;
  /** When the change took effect. */
  at: Date;
}

/** A manifest was stored and listed: pushed under a tag, or by digest (`tag` absent). */
export interface ManifestPushedEvent extends EventBase {
  type: 'manifest.pushed';
  digest: string;
  mediaType: string;
  size: number;
  tag?: string;
  /** The digest the tag named before this push, when it moved (a retag); absent for a new tag. */
  previousDigest?: string;
  /** The stored bytes (do not modify) and what core parsed from them. */
  bytes: Uint8Array;
  manifest: ManifestInfo;
  actor?: EventActor;
}

/** A tag was removed; the manifest it named stays, pullable by digest. */
export interface TagDeletedEvent extends EventBase {
  type: 'tag.deleted';
  tag: string;
  digest: string;
  actor?: EventActor;
}

/** Why a manifest left the registry. */
export type RemovalCause = 'request' | 'gc' | 'retention';

/** A manifest (and every tag naming it) was removed from the repository's index. */
export interface ManifestDeletedEvent extends EventBase {
  type: 'manifest.deleted';
  digest: string;
  mediaType: string;
  /** The tags that named it at that moment. */
  tags: string[];
  cause: RemovalCause;
  actor?: EventActor;
}

/** The first manifest of a repository was pushed (its index held none before). */
export interface RepositoryCreatedEvent extends EventBase {
  type: 'repository.created';
  actor?: EventActor;
}

/** A client fetched a manifest's bytes (GET, not HEAD). */
export interface ManifestPulledEvent extends EventBase {
  type: 'manifest.pulled';
  digest: string;
  /** The tag or digest the client asked for. */
  reference: string;
  actor?: EventActor;
}

export type RegistryEvent = ManifestPushedEvent | TagDeletedEvent | ManifestDeletedEvent | RepositoryCreatedEvent | ManifestPulledEvent;
export type RegistryEventType = RegistryEvent['type'];
export type RegistryEventOf<T extends RegistryEventType> = Extract<RegistryEvent, { type: T }>;

/** What a pre-push hook sees: the manifest is valid and its references are here, nothing is stored yet. */
export interface ManifestPushAttempt {
  repository: string;
  /** The tag or digest it is pushed under. */
  reference: string;
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  manifest: ManifestInfo;
  actor?: EventActor;
}

/**
 * Refuses a push by throwing (a `RegistryError`, e.g. `MANIFEST_INVALID` or `DENIED`, reaches the
 * client as it is; anything else is a 500). Resolving lets the push go on.
 */
export type ManifestPushHook = (attempt: ManifestPushAttempt) => void | Promise<void>;

export type RegistryEventListener<T extends RegistryEventType> = (event: RegistryEventOf<T>) => void;

/**
 * The registry's event bus. Listeners run synchronously right after the change, in subscription
 * order, so they must be quick: a listener with slow work (a network sink) queues it. A listener
 * that throws never undoes the change nor stops the other listeners: the error goes to
 * `onListenerError`.
 */
export class RegistryEvents {
  private readonly listeners = new Map<RegistryEventType | '*', Set<(event: RegistryEvent) => void>>();
  private readonly pushHooks: ManifestPushHook[] = [];

  constructor(private readonly onListenerError: (err: unknown, event: RegistryEvent) => void = () => undefined) {}

  /** Subscribes to one type of event, or to all with `'*'`. Returns the unsubscribe function. */
  on<T extends RegistryEventType>(type: T, listener: RegistryEventListener<T>): () => void;
  on(type: '*', listener: (event: RegistryEvent) => void): () => void;
  on(type: RegistryEventType | '*', listener: (event: never) => void): () => void {
    const wrapped = listener as (event: RegistryEvent) => void;
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(wrapped);
    return () => set.delete(wrapped);
  }

  /** Adds a hook every manifest push passes before it is stored, in the order added. Returns the remover. */
  beforeManifestPush(hook: ManifestPushHook): () => void {
    this.pushHooks.push(hook);
    return () => {
      const at = this.pushHooks.indexOf(hook);
      if (at >= 0) this.pushHooks.splice(at, 1);
    };
  }

  /** Whether anyone listens to `type`: lets emitters skip building an event nobody reads. */
  wants(type: RegistryEventType): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0 || (this.listeners.get('*')?.size ?? 0) > 0;
  }

  emit(event: RegistryEvent): void {
    for (const key of [event.type, '*'] as const) {
      const set = this.listeners.get(key);
      if (!set) continue;
      for (const listener of [...set]) {
        try {
          listener(event);
        } catch (err) {
          this.onListenerError(err, event);
        }
      }
    }
  }

  /** Runs the pre-push hooks; the first that throws refuses the push. */
  async checkManifestPush(attempt: ManifestPushAttempt): Promise<void> {
    for (const hook of [...this.pushHooks]) await hook(attempt);
  }
}
