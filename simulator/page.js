// The simulated WhatsApp Web page.
//
// It offers WhatsApp Web's in-page module surface (window.Debug.VERSION and window.require(name)) as
// described in docs/whatsapp-web-surface.md, so that the project's bridge and the
// unmodified whatsapp-web.js both work against it. The account lives on the simulator's server; this
// page keeps model replicas (collections that behave like WhatsApp Web's: Backbone-style events,
// get/find/getModelsArray/serialize, Wid objects with own data fields) and talks to the server over
// one WebSocket (simulator/PROTOCOL.md).
//
// Design rules:
// - Module exports are mutable objects, and the page calls hookable members (reaction table,
//   browser info, ...) through the module property at call time, so that clients can wrap them.
// - Nothing here defines a global other than Debug and require (whatsapp-web.js creates its own).
// - Internal code keeps its own references to collections and models, so a simulated fault
//   (a module or member "removed by an update") breaks only the callers that use it.
(() => {
    'use strict';

    const configElement = document.getElementById('wa-sim-config');
    const config = JSON.parse(configElement ? configElement.textContent : '{}');
    const VERSION = String(config.version || '2.3000.1017054665');
    const PLATFORM = String(config.platform || '1');
    // The dated generation of WhatsApp Web this page imitates (simulator/generations.py,
    // docs/whatsapp-web-surface.md §9): flags that change the module table and a few calls. Without
    // a config the page is today's WhatsApp Web.
    const SURFACE = Object.assign({
        name: '2026-05',
        loadEarlierPositional: false,
        sendSeenPositional: false,
        joinInviteInQueryJob: false,
        calls: 'call-map',
        collectionNames: 'new',
        cmdEventsFromBridge: true,
        blocklist: 'lid',
        advKeyModule: 'WAWebUserPrefsMultiDevice',
        chatFindByPhone: false,
        renamed: {},
    }, config.surface || {});

    // A whatsapp-web.js release replaces the global Error in every document; errors made here
    // must not depend on Error's identity.
    const makeError = (message, extra) => {
        const error = new Error(message);
        if (extra) {
            Object.assign(error, extra);
        }
        return error;
    };

    const hidden = (target, name, value) => {
        Object.defineProperty(target, name, { value, enumerable: false, writable: true, configurable: true });
    };

    // Methods added to a model stay out of its serialize() and JSON, as on WhatsApp Web's models.
    const defineMethods = (target, methods) => {
        for (const [name, value] of Object.entries(methods)) {
            hidden(target, name, value);
        }
        return target;
    };

    const randomBytes = (count) => crypto.getRandomValues(new Uint8Array(count));
    const randomHex = (count) => Array.from(randomBytes(count), (byte) => byte.toString(16).padStart(2, '0')).join('').toUpperCase();

    const bytesToBase64 = (bytes) => {
        let binary = '';
        const step = 0x8000;
        for (let index = 0; index < bytes.length; index += step) {
            binary += String.fromCharCode.apply(null, bytes.subarray(index, index + step));
        }
        return btoa(binary);
    };

    const base64ToBytes = (text) => {
        const binary = atob(text || '');
        const bytes = new Uint8Array(binary.length);
        for (let index = 0; index < binary.length; index += 1) {
            bytes[index] = binary.charCodeAt(index);
        }
        return bytes;
    };

    const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

    // ------------------------------------------------------------------------------------------
    // Events, models and collections (Backbone-style, as WhatsApp Web's clients expect).

    class Emitter {
        constructor() {
            hidden(this, '_listeners', new Map());
        }

        on(names, callback, context) {
            for (const name of String(names).split(/\s+/).filter(Boolean)) {
                if (!this._listeners.has(name)) {
                    this._listeners.set(name, []);
                }
                this._listeners.get(name).push({ callback, context, once: false });
            }
            return this;
        }

        once(names, callback, context) {
            for (const name of String(names).split(/\s+/).filter(Boolean)) {
                if (!this._listeners.has(name)) {
                    this._listeners.set(name, []);
                }
                this._listeners.get(name).push({ callback, context, once: true });
            }
            return this;
        }

        off(names, callback) {
            if (names === undefined || names === null) {
                this._listeners.clear();
                return this;
            }
            for (const name of String(names).split(/\s+/).filter(Boolean)) {
                const list = this._listeners.get(name);
                if (!list) {
                    continue;
                }
                const kept = callback ? list.filter((entry) => entry.callback !== callback) : [];
                this._listeners.set(name, kept);
            }
            return this;
        }

        listenerCount(name) {
            const list = this._listeners.get(name);
            return list ? list.length : 0;
        }

        trigger(name, ...args) {
            const list = this._listeners.get(name);
            if (!list || list.length === 0) {
                return this;
            }
            for (const entry of list.slice()) {
                if (entry.once) {
                    const current = this._listeners.get(name);
                    const index = current.indexOf(entry);
                    if (index >= 0) {
                        current.splice(index, 1);
                    }
                }
                try {
                    entry.callback.apply(entry.context || this, args);
                } catch (error) {
                    console.error('listener failed', name, error);
                }
            }
            return this;
        }

        emit(name, ...args) {
            return this.trigger(name, ...args);
        }
    }

    const sameValue = (left, right) => {
        if (left === right) {
            return true;
        }
        if (left && right && typeof left === 'object' && typeof right === 'object'
            && typeof left._serialized === 'string') {
            return left._serialized === right._serialized;
        }
        return false;
    };

    const plainValue = (value) => {
        if (value instanceof Model || value instanceof Collection) {
            return value.serialize();
        }
        if (Array.isArray(value)) {
            return value.map(plainValue);
        }
        return value;
    };

    class Model extends Emitter {
        constructor(attributes) {
            super();
            hidden(this, '_collections', new Set());
            if (attributes) {
                this.set(attributes, { silent: true });
            }
        }

        set(attributes, options) {
            const changes = [];
            for (const name of Object.keys(attributes)) {
                const value = attributes[name];
                const previous = this[name];
                if (!sameValue(previous, value)) {
                    this[name] = value;
                    changes.push([name, value, previous]);
                }
            }
            if (!(options && options.silent) && changes.length) {
                for (const [name, value, previous] of changes) {
                    this.fire(`change:${name}`, this, value, previous);
                }
                this.fire('change', this);
            }
            return this;
        }

        fire(name, ...args) {
            this.trigger(name, ...args);
            for (const owner of this._collections) {
                owner.trigger(name, ...args);
            }
        }

        serialize() {
            const out = {};
            for (const name of Object.keys(this)) {
                out[name] = plainValue(this[name]);
            }
            return out;
        }

        toJSON() {
            return this.serialize();
        }

        unsafe() {
            return this;
        }
    }

    const keyOf = (id) => {
        if (id === null || id === undefined) {
            return '';
        }
        if (typeof id === 'object') {
            if (typeof id._serialized === 'string') {
                return id._serialized;
            }
            if (id.user !== undefined && id.server !== undefined) {
                return `${id.user}@${id.server}`;
            }
        }
        return String(id);
    };

    class Collection extends Emitter {
        constructor(ModelClass, options) {
            super();
            hidden(this, 'modelClass', ModelClass || Model);
            hidden(this, '_order', options && options.order ? options.order : null);
            hidden(this, '_dirty', false);
            this._models = [];
            this._index = new Map();
        }

        get length() {
            return this._models.length;
        }

        get models() {
            return this.getModelsArray();
        }

        get(id) {
            return this._index.get(keyOf(id)) || undefined;
        }

        has(id) {
            return this._index.has(keyOf(id));
        }

        add(items, options) {
            const list = Array.isArray(items) ? items : [items];
            const added = [];
            for (const item of list) {
                const model = item instanceof Model ? item : new this.modelClass(item);
                const key = keyOf(model.id);
                const existing = this._index.get(key);
                if (existing) {
                    if (existing !== model) {
                        existing.set(item instanceof Model ? Object.assign({}, item) : item, options);
                    }
                    added.push(existing);
                    continue;
                }
                this._models.push(model);
                // Through the Map's own set(): clients observe additions by wrapping it.
                this._index.set(key, model);
                model._collections.add(this);
                this._dirty = true;
                added.push(model);
                if (!(options && options.silent)) {
                    this.trigger('add', model, this, options || {});
                }
            }
            return Array.isArray(items) ? added : added[0];
        }

        remove(items, options) {
            const list = Array.isArray(items) ? items : [items];
            for (const item of list) {
                const model = item instanceof Model ? item : this.get(item);
                if (!model) {
                    continue;
                }
                const key = keyOf(model.id);
                if (this._index.get(key) !== model) {
                    continue;
                }
                this._index.delete(key);
                const index = this._models.indexOf(model);
                if (index >= 0) {
                    this._models.splice(index, 1);
                }
                model._collections.delete(this);
                if (!(options && options.silent)) {
                    this.trigger('remove', model, this, options || {});
                }
            }
        }

        reset(items) {
            for (const model of this._models) {
                model._collections.delete(this);
            }
            this._models = [];
            this._index = new Map();
            if (items) {
                this.add(items, { silent: true });
            }
            this.trigger('reset', this);
        }

        getModelsArray() {
            if (this._order && this._dirty) {
                this._models.sort(this._order);
                this._dirty = false;
            }
            return this._models.slice();
        }

        markDirty() {
            this._dirty = true;
        }

        filter(predicate) {
            return this.getModelsArray().filter(predicate);
        }

        map(mapper) {
            return this.getModelsArray().map(mapper);
        }

        forEach(visitor) {
            this.getModelsArray().forEach(visitor);
        }

        at(index) {
            return this.getModelsArray()[index];
        }

        toArray() {
            return this.getModelsArray();
        }

        serialize() {
            return this.getModelsArray().map((model) => model.serialize());
        }

        toJSON() {
            return this.serialize();
        }

        async find(id) {
            return this.get(id);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Identifiers.

    // Wids and message keys compare and print by their serialized form.
    class Identifier {
        toString() {
            return this._serialized;
        }

        equals(other) {
            return Boolean(other) && keyOf(other) === this._serialized;
        }
    }

    class Wid extends Identifier {
        constructor(serialized) {
            super();
            let text = String(serialized);
            if (text.endsWith('@s.whatsapp.net')) {
                text = `${text.slice(0, -'@s.whatsapp.net'.length)}@c.us`;
            }
            const at = text.indexOf('@');
            if (at <= 0 || at === text.length - 1) {
                throw makeError(`invalid wid: ${text}`, { name: 'WidError' });
            }
            this.server = text.slice(at + 1);
            this.user = text.slice(0, at);
            this._serialized = text;
        }

        isLid() {
            return this.server === 'lid';
        }

        isGroup() {
            return this.server === 'g.us';
        }

        isStatus() {
            return this.server === 'broadcast' && this.user === 'status';
        }

        isBroadcast() {
            return this.server === 'broadcast';
        }

        isNewsletter() {
            return this.server === 'newsletter';
        }

        isUser() {
            return this.server === 'c.us' || this.server === 'lid';
        }

        isCompanion() {
            return false;
        }

        toJid() {
            return this.server === 'c.us' ? `${this.user}@s.whatsapp.net` : this._serialized;
        }
    }

    const createWid = (value) => {
        if (value instanceof Wid) {
            return value;
        }
        if (value && typeof value === 'object') {
            if (typeof value._serialized === 'string') {
                return new Wid(value._serialized);
            }
            if (value.user !== undefined && value.server !== undefined) {
                return new Wid(`${value.user}@${value.server}`);
            }
        }
        if (typeof value !== 'string') {
            throw makeError(`invalid wid: ${String(value)}`, { name: 'WidError' });
        }
        return new Wid(value);
    };

    class MsgKey extends Identifier {
        constructor(options) {
            super();
            const outgoing = Object.prototype.hasOwnProperty.call(options, 'selfDir')
                || (options.from !== undefined && options.remote === undefined);
            const fromMe = outgoing ? options.selfDir === 'out' : Boolean(options.fromMe);
            const remote = createWid(outgoing ? options.to : options.remote);
            this.fromMe = fromMe;
            this.remote = remote;
            this.id = String(options.id);
            if (options.participant) {
                this.participant = createWid(options.participant);
            }
            this._serialized = `${fromMe}_${remote._serialized}_${this.id}`
                + (this.participant ? `_${this.participant._serialized}` : '');
        }

        static async newId() {
            return `3EB0${randomHex(8)}`;
        }

        static fromString(serialized) {
            const parts = String(serialized).split('_');
            if (parts.length < 3) {
                throw makeError(`invalid message key: ${serialized}`);
            }
            return new MsgKey({
                fromMe: parts[0] === 'true',
                remote: parts[1],
                id: parts[2],
                participant: parts[3] || undefined,
            });
        }
    }

    const keyFromData = (data) => {
        if (data instanceof MsgKey) {
            return data;
        }
        if (typeof data === 'string') {
            return MsgKey.fromString(data);
        }
        return new MsgKey({ fromMe: data.fromMe, remote: data.remote, id: data.id, participant: data.participant || undefined });
    };

    // ------------------------------------------------------------------------------------------
    // The connection to the simulator's server.

    let socket = null;
    let socketOpen = false;
    let callCounter = 0;
    const pendingCalls = new Map();
    let retryDelay = 500;
    let loggedOut = false;
    let everSynced = false;
    const pageId = randomHex(8);
    const deviceKeys = { noise: randomBytes(32), identity: randomBytes(32), adv: randomBytes(32) };
    // The linked device lives in the browser profile, in IndexedDB with strict durability: a
    // browser killed right after linking must come back linked, as WhatsApp Web does.
    const DEVICE_DB = 'wa-sim';
    const DEVICE_STORE = 'device';
    let currentDevice = null;

    const openDeviceDb = () => new Promise((resolve, reject) => {
        const request = indexedDB.open(DEVICE_DB, 1);
        request.onupgradeneeded = () => request.result.createObjectStore(DEVICE_STORE);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });

    const loadDevice = async () => {
        try {
            const db = await openDeviceDb();
            currentDevice = await new Promise((resolve) => {
                const request = db.transaction(DEVICE_STORE, 'readonly').objectStore(DEVICE_STORE).get('device');
                request.onsuccess = () => resolve(request.result || null);
                request.onerror = () => resolve(null);
            });
            db.close();
        } catch (error) {
            console.error('cannot read the linked device', error);
            currentDevice = null;
        }
        return currentDevice;
    };

    const storedDevice = () => currentDevice;

    const storeDevice = async (device) => {
        currentDevice = device || null;
        try {
            const db = await openDeviceDb();
            await new Promise((resolve) => {
                const transaction = db.transaction(DEVICE_STORE, 'readwrite', { durability: 'strict' });
                const store = transaction.objectStore(DEVICE_STORE);
                if (device) {
                    store.put(device, 'device');
                } else {
                    store.delete('device');
                }
                transaction.oncomplete = () => resolve();
                transaction.onerror = () => resolve();
                transaction.onabort = () => resolve();
            });
            db.close();
        } catch (error) {
            console.error('cannot store the linked device', error);
        }
    };

    const deviceLoaded = loadDevice();

    const sendFrame = (frame) => {
        if (socket && socketOpen) {
            socket.send(JSON.stringify(frame));
            return true;
        }
        return false;
    };

    const serverError = (status, message) => makeError(message, { name: 'ServerStatusCodeError', status, statusCode: status });

    const rpc = (op, args) => new Promise((resolve, reject) => {
        callCounter += 1;
        const id = callCounter;
        if (!sendFrame({ t: 'call', id, op, args: args || {} })) {
            reject(serverError(503, 'not connected to WhatsApp'));
            return;
        }
        pendingCalls.set(id, { resolve, reject });
    });

    // Frames are handled one after the other; a handler may return a promise (storing the device).
    let frameChain = Promise.resolve();

    const connect = async () => {
        if (loggedOut) {
            return;
        }
        await deviceLoaded;
        try {
            socket = new WebSocket(config.ws);
        } catch (error) {
            scheduleReconnect();
            return;
        }
        const current = socket;
        current.onopen = () => {
            socketOpen = true;
            retryDelay = 500;
            sendFrame({
                t: 'hello',
                device: storedDevice(),
                keys: {
                    noise: bytesToBase64(deviceKeys.noise),
                    identity: bytesToBase64(deviceKeys.identity),
                    adv: bytesToBase64(deviceKeys.adv),
                },
                resume: everSynced,
                page_id: pageId,
            });
        };
        current.onmessage = (event) => {
            let frame;
            try {
                frame = JSON.parse(event.data);
            } catch (error) {
                return;
            }
            frameChain = frameChain
                .then(() => handleFrame(frame))
                .catch((error) => console.error('simulator frame failed', frame && frame.t, error));
        };
        current.onclose = () => {
            if (socket !== current) {
                return;
            }
            socketOpen = false;
            socket = null;
            failPendingCalls(serverError(503, 'the connection to WhatsApp was lost'));
            if (loggedOut) {
                return;
            }
            if (SocketModel.state === 'CONNECTED') {
                SocketModel.set({ state: 'TIMEOUT' });
            }
            scheduleReconnect();
        };
    };

    const scheduleReconnect = () => {
        const delay = retryDelay;
        retryDelay = Math.min(retryDelay * 2, 5000);
        setTimeout(connect, delay);
    };

    const failPendingCalls = (error) => {
        for (const [, pending] of pendingCalls) {
            pending.reject(error);
        }
        pendingCalls.clear();
    };

    // Closes the server socket without the reconnect its close event would schedule, and fails
    // every call still waiting for an answer on it.
    const dropSocket = (error) => {
        if (socket) {
            const old = socket;
            socket = null;
            socketOpen = false;
            old.onclose = null;
            old.close();
        }
        failPendingCalls(error);
    };

    const reconnectNow = () => {
        if (socket) {
            dropSocket(serverError(503, 'reconnecting'));
        }
        retryDelay = 500;
        connect();
    };

    // ------------------------------------------------------------------------------------------
    // Models.

    const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'ptt', 'document', 'sticker']);
    const NOTIFICATION_TYPES = new Set(['gp2', 'notification', 'e2e_notification', 'notification_template', 'call_log', 'protocol', 'revoked_notification']);

    class MediaData extends Model {
        toJSON() {
            const out = {};
            for (const name of Object.keys(this)) {
                if (name !== 'mediaBlob') {
                    out[name] = this[name];
                }
            }
            return out;
        }
    }

    class Msg extends Model {
        constructor(attributes) {
            super(attributes);
            hidden(this, 'mediaData', undefined);
            hidden(this, 'mediaObject', undefined);
            this.attachMedia();
        }

        attachMedia() {
            if (MEDIA_TYPES.has(this.type) && this.directPath && !this.mediaData) {
                this.mediaData = new MediaData({
                    mediaStage: 'INIT',
                    type: this.type,
                    mimetype: this.mimetype,
                    filehash: this.filehash,
                    size: this.size,
                });
                this.mediaObject = mediaStorage.getOrCreateMediaObject(this.filehash || this.directPath);
            }
        }

        get isNotification() {
            return NOTIFICATION_TYPES.has(this.type);
        }

        get chat() {
            return Chats.get(this.id.remote);
        }

        canReply() {
            return this.type !== 'revoked' && !this.isNotification;
        }

        msgContextInfo() {
            return {
                quotedMsg: this.serialize(),
                quotedStanzaID: this.id.id,
                quotedParticipant: this.author || this.from,
                quotedRemoteJid: this.id.remote,
            };
        }

        updateAck(ack) {
            this.set({ ack });
        }

        avParams() {
            return {};
        }

        async downloadMedia() {
            if (this.mediaData) {
                this.mediaData.set({ mediaStage: 'RESOLVED' });
            }
        }
    }

    class MuteState extends Model {
        async mute({ expiration }) {
            const chat = this._chat;
            await rpc('chat_action', { chat: chat.id._serialized, action: 'mute', expiration });
            this.set({ expiration });
            chat.set({ muteExpiration: expiration });
            return this;
        }

        async unmute() {
            const chat = this._chat;
            await rpc('chat_action', { chat: chat.id._serialized, action: 'unmute' });
            this.set({ expiration: 0 });
            chat.set({ muteExpiration: 0 });
            return this;
        }

        get isMuted() {
            return this.expiration !== 0;
        }
    }

    class Chat extends Model {
        constructor(attributes) {
            super(attributes);
            hidden(this, 'msgs', new Collection(Msg, { order: byTimestamp }));
            hidden(this, 'groupMetadata', undefined);
            hidden(this, 'newsletterMetadata', undefined);
            const mute = new MuteState({ expiration: this.muteExpiration || 0 });
            hidden(mute, '_chat', this);
            hidden(this, 'mute', mute);
        }

        async waitForChatLoading() {
            return true;
        }

        get formattedTitle() {
            return this.name || formattedNumber(this.id);
        }

        iAmAdmin() {
            if (!this.groupMetadata) {
                return false;
            }
            for (const mine of [me.pn, me.lid]) {
                const participant = mine ? this.groupMetadata.participants.get(mine) : null;
                if (participant && (participant.isAdmin || participant.isSuperAdmin)) {
                    return true;
                }
            }
            return false;
        }

        serialize() {
            const out = super.serialize();
            out.formattedTitle = this.formattedTitle;
            out.msgs = this.msgs.getModelsArray().map((msg) => msg.id._serialized);
            return out;
        }
    }

    class Participant extends Model {
        get contact() {
            return Contacts.get(this.id) || new Contact({ id: this.id, phoneNumber: this.phoneNumber });
        }
    }

    class GroupMetadata extends Model {
        constructor(attributes) {
            super(attributes);
            hidden(this, 'participants', new Collection(Participant));
            hidden(this, 'membershipApprovalRequests', new Collection(Model));
            hidden(this, 'pastParticipants', new Collection(Participant));
        }

        serialize() {
            const out = super.serialize();
            out.participants = this.participants.serialize();
            return out;
        }
    }

    class Contact extends Model {
        constructor(attributes) {
            super(attributes);
            hidden(this, 'commonGroups', undefined);
            hidden(this, 'businessProfile', undefined);
        }

        get formattedName() {
            return this.name || this.pushname || formattedNumber(this.phoneNumber || this.id);
        }

        get isMe() {
            return isMe(this.id);
        }
    }

    class Call extends Model {}

    // Messages of the same second keep the order of the chat's history: `_place` counts up for a
    // message that joins a window at its new end and down for one loaded before its oldest.
    const byTimestamp = (left, right) => (left.t || 0) - (right.t || 0) || (left._place || 0) - (right._place || 0);
    const windowPlaces = { newest: 0, oldest: 0 };
    const chatOrder = (left, right) => {
        const leftPin = left.pin || 0;
        const rightPin = right.pin || 0;
        if (Boolean(leftPin) !== Boolean(rightPin)) {
            return leftPin ? -1 : 1;
        }
        if (leftPin !== rightPin) {
            return rightPin - leftPin;
        }
        return (right.t || 0) - (left.t || 0);
    };

    const formattedNumber = (wid) => {
        if (!wid) {
            return '';
        }
        const user = typeof wid === 'string' ? wid.split('@')[0] : wid.user;
        return /^\d+$/.test(user) ? `+${user}` : user;
    };

    const me = { pn: null, lid: null };
    const isMe = (wid) => {
        const key = keyOf(wid);
        return Boolean(key) && (key === keyOf(me.pn) || key === keyOf(me.lid));
    };

    // The LID <-> phone number pairs the page knows (WhatsApp Web's own cache of them): from the
    // sync, contacts, group participants and queryWidExists answers. Nothing else resolves one.
    const pnByLid = new Map();
    const lidByPn = new Map();
    const rememberLid = (lid, pn) => {
        const lidKey = keyOf(lid);
        const pnKey = keyOf(pn);
        if (lidKey.endsWith('@lid') && pnKey.endsWith('@c.us')) {
            pnByLid.set(lidKey, createWid(pnKey));
            lidByPn.set(pnKey, createWid(lidKey));
        }
    };
    const lidOf = (wid) => {
        const key = keyOf(wid);
        return key.endsWith('@lid') ? createWid(key) : lidByPn.get(key);
    };
    const phoneOf = (wid) => {
        const key = keyOf(wid);
        return key.endsWith('@c.us') ? createWid(key) : pnByLid.get(key);
    };
    // The block list holds LIDs on today's page, phone numbers before 2026-03 (§8.1 C33, §9.1).
    const blockEntryOf = (wid) => (SURFACE.blocklist === 'phone-number' ? phoneOf(wid) : lidOf(wid));

    // ------------------------------------------------------------------------------------------
    // The page's state: collections and singletons.

    const Chats = new Collection(Chat, { order: chatOrder });
    const Msgs = new Collection(Msg);
    const Contacts = new Collection(Contact);
    const GroupMetadatas = new Collection(GroupMetadata);
    const Calls = new Collection(Call);
    const Blocklist = new Collection(Model);
    const Reactions = new Collection(Model);
    const Labels = new Collection(Model);
    const Statuses = new Collection(Model);
    const ProfilePicThumbs = new Collection(Model);
    const Newsletters = new Collection(Model);
    const NewsletterMetadata = new Collection(Model);
    const BotProfiles = new Collection(Model);

    const SocketModel = new Model({ state: 'OPENING', hasSynced: false, stream: 'DISCONNECTED' });
    const ConnModel = new Model({ ref: null, pushname: null, platform: null, wid: undefined, battery: 100, plugged: true, locales: 'en-US', is24h: true, isResponse: 'true' });
    const CmdBus = new Emitter();
    const StreamModel = new Model({ available: false, mode: 'MAIN' });
    let offlineProgress = 100;

    // ------------------------------------------------------------------------------------------
    // Converting the server's JSON into models and models into the server's JSON.

    const WID_FIELDS = ['from', 'to', 'author'];

    const msgAttributes = (data) => {
        const attributes = Object.assign({}, data);
        attributes.id = keyFromData(data.id);
        for (const field of WID_FIELDS) {
            if (typeof attributes[field] === 'string') {
                attributes[field] = createWid(attributes[field]);
            } else if (attributes[field] === null) {
                delete attributes[field];
            }
        }
        if (Array.isArray(attributes.mentionedJidList)) {
            attributes.mentionedJidList = attributes.mentionedJidList.map(createWid);
        }
        if (Array.isArray(attributes.recipients)) {
            attributes.recipients = attributes.recipients.map(createWid);
        }
        if (attributes.quotedMsgId) {
            const quoted = keyFromData(attributes.quotedMsgId);
            attributes.quotedStanzaID = quoted.id;
            attributes.quotedRemoteJid = quoted.remote;
            if (quoted.participant) {
                attributes.quotedParticipant = quoted.participant;
            }
            const local = Msgs.get(attributes.quotedMsgId);
            if (local) {
                attributes.quotedMsg = { type: local.type, body: local.body };
            }
        }
        return attributes;
    };

    const chatAttributes = (data) => {
        const attributes = Object.assign({}, data);
        attributes.id = createWid(data.id);
        delete attributes.isGroup;
        delete attributes.isReadOnly;
        if (attributes.lastReceivedKey) {
            attributes.lastReceivedKey = keyFromData(attributes.lastReceivedKey);
        }
        if (attributes.muteExpiration === undefined) {
            attributes.muteExpiration = 0;
        }
        return attributes;
    };

    const contactAttributes = (data) => {
        const attributes = Object.assign({}, data);
        attributes.id = createWid(data.id);
        if (attributes.phoneNumber) {
            attributes.phoneNumber = createWid(attributes.phoneNumber);
            rememberLid(attributes.id, attributes.phoneNumber);
        }
        if (attributes.lid) {
            rememberLid(attributes.lid, attributes.id);
        }
        delete attributes.lid;
        // The block list holds LIDs: a phone-number contact reads as not blocked
        // (docs/whatsapp-web-surface.md §8.1 C33).
        const entry = blockEntryOf(attributes.id);
        if (entry) {
            if (data.isBlocked) {
                Blocklist.add(new Model({ id: entry }), { silent: true });
            } else {
                Blocklist.remove(entry, { silent: true });
            }
        }
        attributes.isContactBlocked = Blocklist.has(attributes.id);
        delete attributes.isBlocked;
        attributes.type = attributes.isMyContact ? 'in' : 'out';
        return attributes;
    };

    const upsertChat = (data, options) => {
        const attributes = chatAttributes(data);
        let chat = Chats.get(attributes.id);
        if (chat) {
            chat.set(attributes, options);
            if (chat.mute.expiration !== chat.muteExpiration) {
                chat.mute.set({ expiration: chat.muteExpiration || 0 }, options);
            }
            Chats.markDirty();
        } else {
            chat = new Chat(attributes);
            Chats.add(chat, options);
        }
        const metadata = GroupMetadatas.get(chat.id);
        if (metadata) {
            chat.groupMetadata = metadata;
        }
        return chat;
    };

    const upsertGroup = (data, options) => {
        const id = createWid(data.id);
        const attributes = Object.assign({}, data, { id });
        delete attributes.participants;
        if (attributes.owner) {
            attributes.owner = createWid(attributes.owner);
        }
        let metadata = GroupMetadatas.get(id);
        if (metadata) {
            metadata.set(attributes, options);
        } else {
            metadata = new GroupMetadata(attributes);
            GroupMetadatas.add(metadata, { silent: true });
        }
        if (Array.isArray(data.participants)) {
            metadata.participants.reset(data.participants.map((participant) => {
                const item = Object.assign({}, participant, { id: createWid(participant.id) });
                if (item.phoneNumber) {
                    item.phoneNumber = createWid(item.phoneNumber);
                    rememberLid(item.id, item.phoneNumber);
                }
                return new Participant(item);
            }));
        }
        const chat = Chats.get(id);
        if (chat) {
            chat.groupMetadata = metadata;
        }
        return metadata;
    };

    const upsertContact = (data, options) => {
        const attributes = contactAttributes(data);
        let contact = Contacts.get(attributes.id);
        if (contact) {
            contact.set(attributes, options);
        } else {
            contact = Contacts.add(new Contact(attributes), options);
        }
        const alternate = contact.id.isLid() ? phoneOf(contact.id) : lidOf(contact.id);
        const other = alternate && alternate._serialized !== contact.id._serialized ? Contacts.get(alternate) : null;
        if (other) {
            other.set({ isContactBlocked: Blocklist.has(other.id) }, options);
        }
        return contact;
    };

    // A chat's `msgs` is the window of its history that is loaded: its newest messages without a gap,
    // which loadEarlierMsgs extends backwards from the oldest one. A message fetched by id
    // (Msg.getMessagesById) joins `Msg` only (`outsideWindow`), so the window never gets a hole.
    const placeInWindow = (msg, placement) => {
        hidden(msg, '_place', placement === 'earlier' ? (windowPlaces.oldest -= 1) : (windowPlaces.newest += 1));
    };
    // `placement`: 'outside' (fetched by id), 'earlier' (loaded before the window's oldest), or
    // undefined (new, or part of the sync, oldest first).
    const addMessage = (data, options, placement) => {
        const attributes = msgAttributes(data);
        const existing = Msgs.get(attributes.id);
        if (existing) {
            existing.set(attributes, { silent: true });
            const owner = placement === 'outside' ? null : Chats.get(existing.id.remote);
            if (owner && !owner.msgs.get(existing.id)) {
                placeInWindow(existing, placement);
                owner.msgs.add(existing, { silent: true });
            }
            return existing;
        }
        const msg = new Msg(attributes);
        if (placement === 'outside') {
            Msgs.add(msg, options);
            return msg;
        }
        placeInWindow(msg, placement);
        let chat = Chats.get(msg.id.remote);
        if (!chat) {
            chat = upsertChat({ id: msg.id.remote._serialized, t: msg.t, unreadCount: 0 }, { silent: true });
        }
        chat.msgs.add(msg, { silent: true });
        if (!msg.isNotification || msg.type === 'gp2') {
            if (!msg.id.fromMe) {
                chat.lastReceivedKey = msg.id;
            }
            if ((msg.t || 0) > (chat.t || 0)) {
                chat.set({ t: msg.t }, { silent: true });
                Chats.markDirty();
            }
        }
        Msgs.add(msg, options);
        return msg;
    };

    const JSON_MESSAGE_FIELDS = new Set([
        'type', 'body', 'caption', 't', 'ack', 'star', 'isForwarded', 'forwardingScore', 'subtype',
        'mimetype', 'filename', 'size', 'directPath', 'mediaKey', 'filehash', 'encFilehash',
        'mediaKeyTimestamp', 'isGif', 'duration', 'lat', 'lng', 'loc', 'vcardFormattedName',
        'isViewOnce', 'pollName', 'pollOptions', 'pollSelectableOptionsCount', 'vcardList',
        'latestEditSenderTimestampMs',
    ]);
    // Attributes that only make sense inside the page (blobs, thumbnails, object URLs).
    const PAGE_ONLY_FIELDS = new Set([
        'mediaBlob', 'preview', 'renderableUrl', 'waveform', 'streamingSidecar', 'firstFrameSidecar',
        'thumbnail', 'thumbnailHQ', 'mediaObject', 'mediaData', 'quotedMsg', 'messageSecret',
    ]);

    const jsonSafe = (value, depth = 0) => {
        if (value === null || value === undefined) {
            return value === null ? null : undefined;
        }
        if (typeof value === 'string' || typeof value === 'boolean') {
            return value;
        }
        if (typeof value === 'number') {
            return Number.isFinite(value) ? value : null;
        }
        if (typeof value !== 'object' || depth > 4) {
            return undefined;
        }
        if (typeof value._serialized === 'string') {
            return value._serialized;
        }
        if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Blob) {
            return undefined;
        }
        if (Array.isArray(value)) {
            return value.map((item) => jsonSafe(item, depth + 1) ?? null);
        }
        if (value instanceof Set) {
            return [...value].map((item) => jsonSafe(item, depth + 1) ?? null);
        }
        const out = {};
        for (const name of Object.keys(value)) {
            const item = jsonSafe(value[name], depth + 1);
            if (item !== undefined) {
                out[name] = item;
            }
        }
        return out;
    };

    const keyToData = (key) => ({
        fromMe: key.fromMe,
        remote: key.remote._serialized,
        id: key.id,
        participant: key.participant ? key.participant._serialized : undefined,
        _serialized: key._serialized,
    });

    const quotedIdOf = (attributes, chat) => {
        if (!attributes.quotedStanzaID) {
            return undefined;
        }
        const stanza = attributes.quotedStanzaID;
        const found = chat.msgs.getModelsArray().find((msg) => msg.id.id === stanza)
            || Msgs.getModelsArray().find((msg) => msg.id.id === stanza);
        if (found) {
            return found.id._serialized;
        }
        const participant = attributes.quotedParticipant ? keyOf(attributes.quotedParticipant) : null;
        const fromMe = participant ? isMe(participant) : false;
        return `${fromMe}_${chat.id._serialized}_${stanza}${chat.id.isGroup() && participant ? `_${participant}` : ''}`;
    };

    const messageForServer = (msg, chat) => {
        const out = {
            id: keyToData(msg.id),
            from: keyOf(msg.from) || undefined,
            to: keyOf(msg.to) || chat.id._serialized,
            author: msg.author ? keyOf(msg.author) : undefined,
            mentionedJidList: Array.isArray(msg.mentionedJidList) ? msg.mentionedJidList.map(keyOf) : [],
            quotedMsgId: quotedIdOf(msg, chat),
        };
        const extra = {};
        for (const name of Object.keys(msg)) {
            if (name in out || name === 'id' || PAGE_ONLY_FIELDS.has(name)) {
                continue;
            }
            const value = jsonSafe(msg[name]);
            if (value === undefined) {
                continue;
            }
            if (JSON_MESSAGE_FIELDS.has(name)) {
                out[name] = value;
            } else {
                extra[name] = value;
            }
        }
        if (MEDIA_TYPES.has(out.type)) {
            delete out.body;
        }
        out.extra_attrs = extra;
        return out;
    };

    // ------------------------------------------------------------------------------------------
    // Media: prepared and "uploaded" inside the page; the bytes travel with the send.

    const uploads = new Map();
    const preparedBytes = new Map();

    class OpaqueData {
        constructor(blob, name) {
            hidden(this, '_blob', blob);
            hidden(this, '_url', null);
            hidden(this, '_name', name || (typeof blob.name === 'string' ? blob.name : undefined));
        }

        static async createFromData(data, mimetype) {
            const blob = data instanceof Blob ? data : new Blob([data], { type: mimetype });
            const typed = mimetype && blob.type !== mimetype ? new Blob([blob], { type: mimetype }) : blob;
            return new OpaqueData(typed, typeof data.name === 'string' ? data.name : undefined);
        }

        url() {
            if (!this._url) {
                this._url = URL.createObjectURL(this._blob);
            }
            return this._url;
        }

        autorelease() {
            const url = this._url;
            if (url) {
                setTimeout(() => URL.revokeObjectURL(url), 60000);
            }
        }

        formData() {
            return this._blob;
        }

        get type() {
            return this._blob.type;
        }

        get size() {
            return this._blob.size;
        }
    }

    const mediaTypeOf = (mimetype, flags) => {
        if (flags.asSticker) {
            return 'sticker';
        }
        if (flags.asDocument) {
            return 'document';
        }
        const kind = String(mimetype || '').split('/')[0];
        if (kind === 'image') {
            return 'image';
        }
        if (kind === 'video') {
            return 'video';
        }
        if (kind === 'audio') {
            return flags.isPtt ? 'ptt' : 'audio';
        }
        return 'document';
    };

    const imagePreview = async (blob) => {
        try {
            const bitmap = await createImageBitmap(blob);
            const scale = Math.min(1, 100 / Math.max(bitmap.width, bitmap.height));
            const canvas = new OffscreenCanvas(Math.max(1, Math.round(bitmap.width * scale)), Math.max(1, Math.round(bitmap.height * scale)));
            canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
            const small = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.5 });
            return bytesToBase64(new Uint8Array(await small.arrayBuffer()));
        } catch (error) {
            return undefined;
        }
    };

    // The prepared mediaBlob is the raw blob, not yet an OpaqueData: clients wrap it before they
    // ask it for a URL (docs/whatsapp-web-surface.md §8.1 C44). A document keeps the name of the File it was made from.
    const prepRawMedia = (opaque, flags) => {
        const options = flags || {};
        const ready = (async () => {
            const blob = opaque instanceof OpaqueData ? opaque.formData() : opaque;
            const name = opaque instanceof OpaqueData ? opaque._name : (typeof opaque.name === 'string' ? opaque.name : undefined);
            const bytes = new Uint8Array(await blob.arrayBuffer());
            const filehash = bytesToBase64(await sha256(bytes));
            preparedBytes.set(filehash, bytes);
            const type = mediaTypeOf(blob.type, options);
            const mediaData = new MediaData({
                type,
                mimetype: blob.type || 'application/octet-stream',
                filehash,
                size: bytes.length,
                isGif: Boolean(options.asGif) && type === 'video',
                mediaBlob: blob,
                mediaStage: 'RESOLVED',
                fullHeight: undefined,
                fullWidth: undefined,
            });
            if (type === 'image') {
                mediaData.preview = await imagePreview(blob);
            }
            if (type === 'document' && name) {
                mediaData.filename = name;
            }
            return mediaData;
        })();
        return { waitForPrep: () => ready };
    };

    const mediaObjects = new Map();
    const mediaStorage = {
        getOrCreateMediaObject: (filehash) => {
            let object = mediaObjects.get(filehash);
            if (!object) {
                object = new Model({ filehash, type: undefined, size: undefined, contentInfo: { waveform: null } });
                defineMethods(object, {
                    consolidate: (json) => {
                        object.set({ type: json.type, size: json.size, mimetype: json.mimetype });
                    },
                });
                mediaObjects.set(filehash, object);
            }
            return object;
        },
    };

    const directPathFor = (filehash) => `/v/t62.7118-24/sim_${filehash.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}`;

    const uploadBytes = (bytes, filehash, mimetype) => {
        const directPath = directPathFor(filehash);
        uploads.set(directPath, { bytes, mimetype });
        return {
            mmsUrl: `https://mmg.whatsapp.net${directPath}`,
            deprecatedMms3Url: `https://mmg.whatsapp.net${directPath}`,
            directPath,
            mediaKey: bytesToBase64(randomBytes(32)),
            mediaKeyTimestamp: Math.floor(Date.now() / 1000),
            encFilehash: filehash,
            uploadHash: filehash,
            sidecar: undefined,
            firstFrameSidecar: undefined,
        };
    };

    // Sticker pack metadata rides in the WebP's EXIF chunk as JSON (what WhatsApp reads).
    const stickerMetadata = (bytes) => {
        try {
            const text = (offset, length) => String.fromCharCode(...bytes.subarray(offset, offset + length));
            if (text(0, 4) !== 'RIFF' || text(8, 4) !== 'WEBP') {
                return null;
            }
            let offset = 12;
            while (offset + 8 <= bytes.length) {
                const name = text(offset, 4);
                const size = bytes[offset + 4] | (bytes[offset + 5] << 8) | (bytes[offset + 6] << 16) | (bytes[offset + 7] << 24);
                if (name === 'EXIF') {
                    const chunk = new TextDecoder().decode(bytes.subarray(offset + 8, offset + 8 + size));
                    const start = chunk.indexOf('{');
                    const end = chunk.lastIndexOf('}');
                    if (start >= 0 && end > start) {
                        const data = JSON.parse(chunk.slice(start, end + 1));
                        return {
                            pack_name: data['sticker-pack-name'] ?? null,
                            publisher: data['sticker-pack-publisher'] ?? null,
                            emojis: Array.isArray(data.emojis) ? data.emojis : [],
                        };
                    }
                    return null;
                }
                offset += 8 + size + (size % 2);
            }
        } catch (error) {
            return null;
        }
        return null;
    };

    // ------------------------------------------------------------------------------------------
    // Operations the page's modules offer, backed by the server.

    const chatIdOf = (chat) => keyOf(chat && chat.id ? chat.id : chat);

    // The message's protobuf, as far as the stanza's type attributes depend on it.
    const protobufOf = (msg) => {
        if (msg.type === 'location') {
            return { locationMessage: { degreesLatitude: msg.lat, degreesLongitude: msg.lng } };
        }
        if (MEDIA_TYPES.has(msg.type)) {
            return { [`${msg.type === 'ptt' ? 'audio' : msg.type}Message`]: { mimetype: msg.mimetype } };
        }
        if (msg.type === 'vcard' || msg.type === 'multi_vcard') {
            return { [msg.type === 'vcard' ? 'contactMessage' : 'contactsArrayMessage']: {} };
        }
        return { conversation: String(msg.body || '') };
    };

    // The stanza's `type` and `mediatype` attributes come from these two members, called through
    // the module property (clients wrap them). For a location the page's own answers ("media",
    // "location") make WhatsApp drop the message: it is never delivered unless a client answers
    // "text" and no media type (docs/whatsapp-web-surface.md §8.1 C45).
    const stanzaAttributes = (msg) => {
        const proto = protobufOf(msg);
        const type = modules.WAWebE2EProtoUtils.typeAttributeFromProtobuf(proto);
        const mediatype = modules.WAWebBackendJobsCommon.mediaTypeFromProtobuf(proto);
        return { type: type ?? null, mediatype: mediatype ?? null };
    };
    const PROTOBUF_MEDIA_TYPES = {
        imageMessage: 'image', videoMessage: 'video', audioMessage: 'audio', documentMessage: 'document',
        stickerMessage: 'sticker', locationMessage: 'location',
    };

    const addAndSendMsgToChat = (chat, attributes) => {
        const msg = new Msg(Object.assign({}, attributes));
        let added;
        let sent;
        try {
            const media = msg.directPath ? uploads.get(msg.directPath) : null;
            const payload = {
                chat: chatIdOf(chat),
                msg: messageForServer(msg, chat),
                link_preview: Boolean(msg.subtype === 'url' && (msg.matchedText || msg.canonicalUrl || msg.title)),
                stanza: stanzaAttributes(msg),
            };
            if (media) {
                payload.media_b64 = bytesToBase64(media.bytes);
                if (msg.type === 'sticker') {
                    payload.sticker = stickerMetadata(media.bytes);
                }
            }
            const known = Chats.get(chat.id) || chat;
            known.msgs.add(msg, { silent: true });
            if ((msg.t || 0) >= (known.t || 0)) {
                known.set({ t: msg.t }, { silent: true });
                Chats.markDirty();
            }
            Msgs.add(msg);
            added = Promise.resolve(msg);
            sent = rpc('send_message', payload).then((result) => {
                const stored = result && result.msg ? result.msg : {};
                const changes = {};
                if (typeof stored.t === 'number') {
                    changes.t = stored.t;
                }
                if (typeof stored.ack === 'number' && stored.ack > (msg.ack || 0)) {
                    changes.ack = stored.ack;
                }
                msg.set(changes);
                return { messageSendResult: 'OK', t: msg.t };
            }, (error) => {
                msg.set({ ack: -1 });
                throw error;
            });
            // A failed send shows as ack -1; nobody has to await it.
            sent.catch(() => {});
        } catch (error) {
            added = Promise.reject(error);
            sent = added;
        }
        return [added, sent];
    };

    const findOrCreateLatestChat = async (wid) => {
        const id = createWid(wid);
        const existing = Chats.get(id);
        if (existing) {
            return { chat: existing, created: false };
        }
        if (id.isGroup()) {
            const result = await rpc('group_metadata', { group: id._serialized }).catch(() => null);
            if (!result || !result.group) {
                return null;
            }
            const chat = upsertChat({ id: id._serialized, name: result.group.subject, t: Math.floor(Date.now() / 1000) });
            upsertGroup(result.group);
            return { chat, created: true };
        }
        const exists = await rpc('query_exists', { id: id._serialized }).catch(() => null);
        if (!exists || !exists.exists) {
            return null;
        }
        const chat = upsertChat({ id: id._serialized, t: Math.floor(Date.now() / 1000), unreadCount: 0 });
        return { chat, created: true };
    };

    const chatAction = async (chat, action, extra) => {
        if (!chat || !chat.id) {
            throw makeError('chat not found');
        }
        await rpc('chat_action', Object.assign({ chat: chatIdOf(chat), action }, extra || {}));
        return true;
    };

    const messageList = (list) => {
        const items = Array.isArray(list) ? list : list && Array.isArray(list.list) ? list.list : [];
        return items.map((msg) => keyOf(msg && msg.id ? msg.id : msg));
    };

    // One options object {chat, msgCollection?, signal?, threadId?, trigger?}: the old positional
    // (chat, msgs) reads `chat` off the Chat model and fails with the real page's TypeError
    // (docs/whatsapp-web-surface.md §8.1 C21).
    const loadEarlierMsgs = async (options, positionalMsgs) => {
        // Pages before 2026-04 also took (chat, msgs) (§9.1); today's reads `chat` off the Chat model.
        const positional = SURFACE.loadEarlierPositional && options instanceof Chat;
        const { chat, msgCollection } = positional ? { chat: options, msgCollection: positionalMsgs } : options;
        await chat.waitForChatLoading();
        const target = Chats.get(chat.id) || chat;
        const loaded = (msgCollection || target.msgs).getModelsArray();
        const oldest = loaded.length ? loaded[0].id._serialized : null;
        const result = await rpc('load_earlier', { chat: chatIdOf(target), before: oldest, count: 50 });
        const models = [];
        // Newest first: each one is placed before the window's oldest.
        for (const data of (result.msgs || []).slice().reverse()) {
            models.unshift(addMessage(Object.assign({}, data, { isNewMsg: false }), { silent: true }, 'earlier'));
        }
        return models;
    };

    const getMessagesById = async (ids) => {
        const wanted = (ids || []).map(keyOf);
        const found = [];
        const missing = [];
        for (const id of wanted) {
            const msg = Msgs.get(id);
            if (msg) {
                found.push(msg);
            } else {
                missing.push(id);
            }
        }
        if (missing.length) {
            const result = await rpc('get_messages', { ids: missing });
            for (const data of result.msgs || []) {
                found.push(addMessage(Object.assign({}, data, { isNewMsg: false }), { silent: true }, 'outside'));
            }
        }
        return { messages: found };
    };

    const refreshGroup = async (groupWid) => {
        const id = keyOf(groupWid);
        const result = await rpc('group_metadata', { group: id });
        return upsertGroup(result.group);
    };

    const blockingLid = (contact) => {
        const id = contact && contact.id ? createWid(contact.id) : null;
        if (!id) {
            throw makeError('blockContact: no contact');
        }
        if (id.isLid()) {
            return id;
        }
        // Pages with a phone-number block list block any contact (§9.1); the server keeps LIDs.
        const lid = Chats.get(id) || SURFACE.blocklist === 'phone-number' ? lidOf(id) : undefined;
        if (!lid) {
            throw makeError(`blockContact: cannot resolve the account LID of ${id._serialized}`, { name: 'BlocklistMigrationError' });
        }
        return lid;
    };

    const participantIds = (models) => (models || []).map((item) => keyOf(item && item.id ? item.id : item));

    const linkPattern = /\b((?:https?:\/\/|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]])/gi;
    const findLinks = (text) => {
        const links = [];
        if (typeof text !== 'string') {
            return links;
        }
        for (const match of text.matchAll(linkPattern)) {
            const url = match[1];
            const href = /^https?:\/\//i.test(url) ? url : `http://${url}`;
            let domain = '';
            try {
                domain = new URL(href).hostname;
            } catch (error) {
                continue;
            }
            links.push({ url, href, domain, index: match.index, suspiciousCharacters: new Set() });
        }
        return links;
    };

    const readyForQr = () => ({
        staticKeyPair: { pubKey: deviceKeys.noise, privKey: randomBytes(32) },
    });

    // ------------------------------------------------------------------------------------------
    // The modules, by name (docs/whatsapp-web-surface.md, Appendix A and B).

    const notSimulated = (what) => async () => {
        throw makeError(`${what} is not simulated`);
    };

    const chainable = () => {
        const chain = {};
        for (const name of ['addAnnotations', 'addPoint', 'addPoints', 'end', 'start', 'markerPoint']) {
            chain[name] = () => chain;
        }
        return chain;
    };

    const tableStub = () => ({ equals: async () => [], anyOf: async () => [], all: async () => [] });

    const reactionTableMode = { bulkUpsert: async (rows) => rows, bulkRemove: async () => [] };
    const pollVoteTableMode = { bulkUpsert: async (rows) => rows, bulkRemove: async () => [] };

    const userPrefs = {
        autoDownloadAudio: true, autoDownloadDocuments: false, autoDownloadPhotos: true, autoDownloadVideos: false,
        globalOfflineNotifications: true,
    };

    const modules = {
        WAWebBuildConstants: { VERSION_STR: VERSION, VERSION_BASE: VERSION },

        // Connection, pairing and the own account (docs/whatsapp-web-surface.md §2).
        WAWebSocketModel: { Socket: SocketModel },
        WAWebConnModel: { Conn: ConnModel },
        WAWebCmd: { Cmd: CmdBus },
        WAWebStreamModel: { Stream: StreamModel },
        WAWebOfflineHandler: {
            OfflineMessageHandler: { getOfflineDeliveryProgress: () => offlineProgress },
        },
        WABase64: { encodeB64: (bytes) => bytesToBase64(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)), decodeB64: base64ToBytes },
        WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: PLATFORM },
        // getADVSecretKey lives in WAWebUserPrefsMultiDevice, synchronous (docs/whatsapp-web-surface.md
        // §8.1 C38); WAWebAdvSignatureApi no longer has it.
        WAWebAdvSignatureApi: {},
        WAWebUserPrefsMultiDevice: { getADVSecretKey: () => bytesToBase64(deviceKeys.adv) },
        WAWebUserPrefsInfoStore: { waNoiseInfo: { get: async () => readyForQr() } },
        WAWebSignalStoreApi: {
            waSignalStore: {
                getRegistrationInfo: async () => ({ identityKeyPair: { pubKey: deviceKeys.identity, privKey: randomBytes(32) }, registrationId: 1 }),
            },
        },
        WAWebAltDeviceLinkingApi: {
            pairingType: 'QR',
            setPairingType: (type) => {
                modules.WAWebAltDeviceLinkingApi.pairingType = type;
            },
            initializeAltDeviceLinking: async () => true,
            initializeQRLinking: async () => {
                modules.WAWebAltDeviceLinkingApi.pairingType = 'QR';
                return true;
            },
            startAltLinkingFlow: async (phoneNumber) => {
                const result = await rpc('request_pairing_code', { phone: String(phoneNumber) });
                return result.code;
            },
        },
        WAWebLaunchSocketUtils: { refreshQR: () => refreshQr() },
        WAWebUserPrefsMeUser: {
            getMaybeMePnUser: () => me.pn || undefined,
            getMaybeMeLidUser: () => me.lid || undefined,
            getMeUser: () => me.pn || me.lid,
            getMePNandLIDWids: () => [me.pn, me.lid].filter(Boolean),
        },
        WAWebMiscBrowserUtils: { info: () => ({ os: 'Linux', name: 'Chrome', version: '156.0', ua: navigator.userAgent }) },
        WAWebSetPushnameConnAction: { setPushname: async (name) => rpc('profile', { field: 'pushname', value: String(name) }) },
        WAWebContactStatusBridge: {
            setMyStatus: async (status) => rpc('profile', { field: 'status', value: String(status) }),
            getStatus: async ({ wid }) => rpc('status_get', { id: keyOf(wid) }),
        },
        WAWebPresenceChatAction: {
            sendPresenceAvailable: async () => rpc('presence', { available: true }),
            sendPresenceUnavailable: async () => rpc('presence', { available: false }),
        },

        // Identifiers (§3).
        WAWebWid: Wid,
        WAWebWidFactory: {
            createWid,
            createWidFromWidLike: createWid,
            createUserWid: (user, server) => createWid(`${user}@${server || 'c.us'}`),
            asUserWidOrThrow: (wid) => {
                const user = createWid(wid);
                if (!user.isUser()) {
                    throw makeError(`not a user wid: ${user._serialized}`);
                }
                return user;
            },
            isWidlike: (value) => Boolean(value && (typeof value === 'string' ? value.includes('@') : value._serialized)),
        },
        WAWebWidToJid: {
            widToUserJid: (wid) => createWid(wid).toJid(),
            widToGroupJid: (wid) => createWid(wid)._serialized,
            widToChatJid: (wid) => createWid(wid).toJid(),
        },
        WAWebJidToWid: {
            userJidToUserWid: (jid) => createWid(jid),
            newsletterJidToWid: (jid) => createWid(jid),
            groupJidToWid: (jid) => createWid(jid),
        },
        WAJids: { toNewsletterJid: (value) => String(value) },
        WAWebMsgKey: MsgKey,
        WAWebPhoneUtils: { formattedPhoneNumber: (value) => formattedNumber(String(value)) },
        WAPhoneUtils: { formattedPhoneNumber: (value) => formattedNumber(String(value)) },
        WAPhoneFindCC: { findCC: (digits) => String(digits).replace(/\D/g, '').slice(0, String(digits).startsWith('1') || String(digits).startsWith('7') ? 1 : 2) },
        WAWebL10N: { getRegion: () => 'US', getLocale: () => 'en' },
        WAWebCountriesNativeCountryNames: { countryCodesIso: { US: 'United States', ES: 'España', DE: 'Deutschland' } },
        WAWebApiContact: {
            getPhoneNumber: (wid) => (keyOf(wid).endsWith('@lid') ? phoneOf(wid) : undefined),
            getCurrentLid: (wid) => (keyOf(wid).endsWith('@c.us') ? lidOf(wid) : undefined),
            getAlternateUserWid: (wid) => {
                const found = createWid(wid);
                if (found.isLid()) {
                    return modules.WAWebApiContact.getPhoneNumber(found);
                }
                return modules.WAWebApiContact.getCurrentLid(found);
            },
        },
        WAWebLidMigrationUtils: {
            toPn: (wid) => {
                if (!wid) {
                    return null;
                }
                const found = createWid(wid);
                return found.isLid() ? phoneOf(found) || null : found;
            },
        },

        // Collections (§4).
        WAWebCollections: {
            Chat: Chats,
            Msg: Msgs,
            Contact: Contacts,
            GroupMetadata: GroupMetadatas,
            WAWebGroupMetadataCollection: GroupMetadatas,
            WAWebCallCollection: Calls,
            Call: Calls,
            Blocklist,
            Reactions,
            Label: Labels,
            Status: Statuses,
            ProfilePicThumb: ProfilePicThumbs,
            BusinessProfile: { fetchBizProfile: async () => ({ profileOptions: undefined }), find: async () => ({ profileOptions: undefined }) },
            Features: {
                F: {},
                supportsFeature: () => true,
                setFeature: () => true,
            },
            WAWebNewsletterCollection: Newsletters,
            NewsletterMetadataCollection: NewsletterMetadata,
            WAWebNewsletterMetadataCollection: NewsletterMetadata,
        },
        WAWebCallCollection: Calls,
        WAWebGroupMetadataCollection: GroupMetadatas,
        WAWebContactCollection: { ContactCollection: Contacts, getMeContact: () => Contacts.get(me.pn) || new Contact({ id: me.pn }) },
        WAWebBotProfileCollection: { BotProfileCollection: BotProfiles },
        WAWebContactGetters: {
            getIsMe: (contact) => isMe(contact.id),
            getIsUser: (contact) => contact.id.isUser(),
            getIsGroup: (contact) => contact.id.isGroup(),
            getIsWAContact: (contact) => contact.isWAContact !== false,
            getUserid: (contact) => (contact.phoneNumber ? contact.phoneNumber.user : contact.id.user),
            getVerifiedName: (contact) => contact.verifiedName,
            getVerifiedLevel: (contact) => contact.verifiedLevel,
            getStatusMute: (contact) => Boolean(contact.statusMute),
            getName: (contact) => contact.name,
            getShortName: (contact) => contact.shortName,
            getPushname: (contact) => contact.pushname,
            getIsEnterprise: (contact) => Boolean(contact.isEnterprise),
        },
        WAWebFrontendContactGetters: { getIsMyContact: (contact) => Boolean(contact.isMyContact) },
        WAWebChatGetters: {
            getIsNewsletter: (chat) => chat.id.server === 'newsletter',
            getIsBroadcast: (chat) => chat.id.server === 'broadcast',
            getIsGroup: (chat) => chat.id.server === 'g.us',
        },

        // Chats (§5.1).
        WAWebFindChatAction: { findOrCreateLatestChat },
        WAWebDeleteChatAction: { sendDelete: (chat) => chatAction(chat, 'delete') },
        WAWebUpdateUnreadChatAction: {
            // sendSeen({chat, threadId}); a positional chat throws on today's page (§8.1 C15).
            sendSeen: async (options) => {
                if (options instanceof Chat) {
                    if (!SURFACE.sendSeenPositional) {
                        throw new TypeError("Cannot read properties of undefined (reading 'markedUnread')");
                    }
                    return chatAction(options, 'seen');
                }
                return chatAction(options.chat, 'seen');
            },
        },
        WAWebChatStateBridge: {
            sendChatStateComposing: (wid) => rpc('chat_state', { chat: keyOf(wid), state: 'composing' }),
            sendChatStateRecording: (wid) => rpc('chat_state', { chat: keyOf(wid), state: 'recording' }),
            sendChatStatePaused: (wid) => rpc('chat_state', { chat: keyOf(wid), state: 'paused' }),
        },
        WAWebChatClearBridge: {
            sendClear: async (chat) => {
                await chatAction(chat, 'clear');
                const target = Chats.get(chat.id);
                if (target) {
                    for (const msg of target.msgs.getModelsArray()) {
                        Msgs.remove(msg, { silent: true });
                    }
                    target.msgs.reset();
                }
                return true;
            },
        },
        WAWebChatLoadMessages: { loadEarlierMsgs },
        WAWebChatMessageSearch: { getSearchContext: () => ({}) },
        WAWebChatForwardMessage: {
            forwardMessages: async ({ chat, msgs }) => {
                const results = [];
                for (const msg of msgs || []) {
                    const attributes = Object.assign({}, msg.serialize(), {
                        id: new MsgKey({ from: me.pn, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' }),
                        from: me.pn,
                        to: chat.id,
                        t: Math.floor(Date.now() / 1000),
                        ack: 0,
                        isNewMsg: true,
                        isForwarded: true,
                        forwardingScore: (msg.forwardingScore || 0) + 1,
                        star: false,
                    });
                    const [added, sent] = addAndSendMsgToChat(chat, attributes);
                    await added;
                    results.push(await sent);
                }
                return results;
            },
        },

        // Messages and sending (§5.2-§5.4).
        WAWebSendMsgChatAction: { addAndSendMsgToChat },
        WAWebGetEphemeralFieldsMsgActionsUtils: { getEphemeralFields: () => ({}) },
        WALinkify: {
            findLink: (text) => findLinks(text)[0] || null,
            findLinks,
        },
        WAWebLinkPreviewChatAction: {
            getLinkPreview: async (link) => rpc('link_preview', { url: link && link.href ? link.href : String(link) }),
        },
        WAWebMsgReply: { canReplyMsg: (msg) => (msg && typeof msg.canReply === 'function' ? msg.canReply() : false) },
        WAWebQuotedMsgModelUtils: {
            getQuotedMsgObj: (msg) => {
                if (!msg || !msg.quotedMsgId) {
                    return undefined;
                }
                return Msgs.get(msg.quotedMsgId);
            },
        },
        WAWebMsgActionCapability: {
            canSenderRevokeMsg: (msg) => Boolean(msg && msg.id && msg.id.fromMe && msg.type !== 'revoked' && !msg.isNotification
                && Date.now() / 1000 - (msg.t || 0) < 60 * 60 * 60),
            canAdminRevokeMsg: (msg) => {
                if (!msg || !msg.id || msg.id.fromMe || msg.type === 'revoked' || msg.isNotification) {
                    return false;
                }
                const chat = Chats.get(msg.id.remote);
                return Boolean(chat && chat.groupMetadata && chat.iAmAdmin());
            },
            canStarMsg: (msg) => Boolean(msg && msg.type !== 'revoked' && !msg.isNotification),
            canEditText: (msg) => Boolean(msg && msg.id && msg.id.fromMe && msg.type === 'chat' && Date.now() / 1000 - (msg.t || 0) < 15 * 60),
            canEditCaption: (msg) => Boolean(msg && msg.id && msg.id.fromMe && MEDIA_TYPES.has(msg.type) && Date.now() / 1000 - (msg.t || 0) < 15 * 60),
        },
        WAWebSendReactionMsgAction: {
            sendReactionToMsg: async (msg, emoji) => {
                await rpc('react', { message_id: keyOf(msg.id), emoji: String(emoji ?? '') });
                return { messageSendResult: 'OK' };
            },
        },
        WAWebSendMessageEditAction: {
            // The server checks who may edit and for how long; its msg_update changes the model
            // (firing change:body or change:caption), as it does on the other pages.
            sendMessageEdit: async (msg, text) => {
                if (!msg || !msg.id || typeof text !== 'string') {
                    throw makeError("Cannot read properties of undefined (reading 'id')");
                }
                await rpc('edit', { message_id: keyOf(msg.id), text });
                return { messageSendResult: 'OK' };
            },
        },
        WAWebMsgDataFromModel: { msgDataFromMsgModel: (msg) => msg.serialize() },
        WAWebMediaOpaqueData: OpaqueData,
        WAWebPrepRawMedia: { prepRawMedia },
        WAWebMediaStorage: mediaStorage,
        WAWebMmsMediaTypes: {
            msgToMediaType: ({ type, isGif }) => (isGif ? 'gif' : type),
            castToV4: (type) => type,
        },
        WAWebMediaDataUtils: { shouldUseMediaCache: () => false },
        WAWebMediaInMemoryBlobCache: { InMemoryMediaBlobCache: { put: () => true, get: () => undefined } },
        WAWebMediaMmsV4Upload: {
            uploadMedia: async ({ mediaObject, mimetype }) => {
                const bytes = preparedBytes.get(mediaObject.filehash);
                if (!bytes) {
                    return { mediaEntry: undefined };
                }
                return { mediaEntry: uploadBytes(bytes, mediaObject.filehash, mimetype) };
            },
            uploadUnencryptedMedia: notSimulated('channel media upload'),
        },
        WAWebStartMediaUploadQpl: { startMediaUploadQpl: () => chainable() },
        WAWebUploadManager: {
            encryptAndUpload: async ({ blob, mediaKey }) => {
                const bytes = new Uint8Array(await blob.arrayBuffer());
                const filehash = bytesToBase64(await sha256(bytes));
                const entry = uploadBytes(bytes, filehash, blob.type);
                return {
                    url: entry.mmsUrl,
                    directPath: entry.directPath,
                    encFilehash: filehash,
                    mediaKey: mediaKey || entry.mediaKey,
                    mediaKeyTimestamp: entry.mediaKeyTimestamp,
                };
            },
        },
        WAMediaCalculateFilehash: { getRandomFilehash: () => bytesToBase64(randomBytes(32)) },
        WAWebMediaUpdateMsg: Object.assign(async () => true, {}),
        WAWebImageUtils: {
            toWebpSticker: async (file) => {
                const bitmap = await createImageBitmap(file);
                const canvas = new OffscreenCanvas(512, 512);
                const scale = Math.min(512 / bitmap.width, 512 / bitmap.height);
                const width = Math.round(bitmap.width * scale);
                const height = Math.round(bitmap.height * scale);
                canvas.getContext('2d').drawImage(bitmap, (512 - width) / 2, (512 - height) / 2, width, height);
                return canvas.convertToBlob({ type: 'image/webp' });
            },
        },
        WAWebDownloadManager: {
            downloadManager: {
                downloadAndMaybeDecrypt: async ({ directPath }) => {
                    const local = uploads.get(directPath);
                    if (local) {
                        return local.bytes.slice().buffer;
                    }
                    const result = await rpc('media_download', { directPath });
                    return base64ToBytes(result.data_b64).buffer;
                },
            },
        },

        // Groups (§5.5).
        WAWebGroupCreateJob: {
            createGroup: async (options, participants) => {
                const ids = (participants || []).map((item) => keyOf(item && item.phoneNumber ? item.phoneNumber : item));
                const result = await rpc('group_create', {
                    title: String(options && options.title ? options.title : ''),
                    participants: ids,
                    options: jsonSafe(Object.assign({}, options, { title: undefined })) || {},
                });
                const gid = createWid(result.gid);
                for (const item of result.participants || []) {
                    if (item.phoneNumber) {
                        rememberLid(item.id, item.phoneNumber);
                    }
                }
                return {
                    wid: gid,
                    subject: options.title,
                    participants: (result.participants || []).map((item) => ({
                        wid: createWid(item.id),
                        error: item.code === 200 ? undefined : String(item.code),
                        type: isMe(item.id) ? 'superadmin' : 'participant',
                    })),
                };
            },
        },
        WAWebGroupModifyInfoJob: {
            setGroupSubject: async (wid, subject) => {
                await rpc('group_subject', { group: keyOf(wid), value: String(subject) });
                return true;
            },
            setGroupDescription: async (wid, description) => {
                await rpc('group_description', { group: keyOf(wid), value: String(description) });
                return true;
            },
        },
        WAWebSetPropertyGroupAction: {
            setGroupProperty: async (chat, property, value) => {
                // WhatsApp Web passes 1/0 for these switches.
                const flag = typeof value === 'number' ? value !== 0 : value;
                await rpc('group_property', { group: chatIdOf(chat), property: String(property), value: flag });
                return true;
            },
        },
        WAWebExitGroupAction: {
            sendExitGroup: async (chat) => {
                await rpc('group_leave', { group: chatIdOf(chat) });
                return true;
            },
        },
        WAWebMexFetchGroupInviteCodeJob: {
            fetchMexGroupInviteCode: async (groupId) => {
                const result = await rpc('group_invite_code', { group: keyOf(groupId) });
                return result.code;
            },
        },
        WAWebGroupQueryJob: {
            // joinGroupViaInvite moved to WAWebGroupInviteJob (docs/whatsapp-web-surface.md
            // §8.1 C35).
            resetGroupInviteCode: async (wid) => rpc('group_revoke_invite', { group: keyOf(wid) }),
            queryGroupInvite: notSimulated('group invite info'),
            queryAndUpdateGroupMetadataById: async ({ id }) => refreshGroup(id),
        },
        WAWebGroupInviteJob: {
            joinGroupViaInvite: async (code) => {
                const result = await rpc('group_join', { code: String(code) });
                return { gid: createWid(result.gid) };
            },
        },
        WAWebGroupInviteV4Job: { joinGroupViaInviteV4: notSimulated('group invite v4') },
        WAWebModifyParticipantsGroupAction: {
            removeParticipants: async (chat, models) => rpc('group_participants', { group: chatIdOf(chat), action: 'remove', participants: participantIds(models) }),
            promoteParticipants: async (chat, models) => rpc('group_participants', { group: chatIdOf(chat), action: 'promote', participants: participantIds(models) }),
            demoteParticipants: async (chat, models) => rpc('group_participants', { group: chatIdOf(chat), action: 'demote', participants: participantIds(models) }),
        },
        WASmaxGroupsAddParticipantsRPC: {
            sendAddParticipantsRPC: async ({ participantArgs, iqTo }) => {
                const ids = (participantArgs || []).map((item) => createWid(item.participantJid)._serialized);
                let result;
                try {
                    result = await rpc('group_participants', { group: keyOf(iqTo), action: 'add', participants: ids });
                } catch (error) {
                    return {
                        name: 'AddParticipantsResponseClientError',
                        value: { errorAddParticipantsClientErrors: { value: { code: String(error.status || 400) } } },
                    };
                }
                return {
                    name: 'AddParticipantsResponseSuccess',
                    value: {
                        addParticipant: (result.results || []).map((item) => ({
                            participantJid: item.id,
                            addParticipantsParticipantAddedOrNonRegisteredWaUserParticipantErrorLidResponseMixinGroup: {
                                name: item.code === 200 ? 'ParticipantAdded' : 'ParticipantNotAdded',
                                value: {
                                    addParticipantsParticipantMixins: {
                                        name: item.code === 200 ? 'AddParticipantsParticipantAdded' : 'AddParticipantsParticipantError',
                                        value: item.code === 200 ? {} : { error: String(item.code) },
                                    },
                                },
                            },
                        })),
                    },
                };
            },
        },
        WASmaxGroupsMembershipRequestsActionRPC: { sendMembershipRequestsActionRPC: notSimulated('membership requests') },
        WAWebApiMembershipApprovalRequestStore: { getMembershipApprovalRequests: async () => [] },
        WAWebChatSendMessages: { sendGroupInviteMessage: notSimulated('group invite messages') },

        // Contacts (§5.6).
        WAWebQueryExistsJob: {
            queryWidExists: async (wid) => {
                const result = await rpc('query_exists', { id: keyOf(wid) });
                if (!result || !result.exists) {
                    return null;
                }
                if (result.lid && result.id) {
                    rememberLid(result.lid, result.id);
                }
                return { wid: createWid(result.id || keyOf(wid)), lid: result.lid ? createWid(result.lid) : undefined };
            },
        },
        // The block list holds LIDs: blocking resolves the account LID from the contact's own id or
        // from its chat; a phone-number contact without a chat has neither (docs/whatsapp-web-surface.md
        // §8.1 C33). The real page's exception text is not known.
        WAWebBlockContactAction: {
            blockContact: async ({ contact }) => {
                await rpc('contact_block', { contact: blockingLid(contact)._serialized, blocked: true });
                return true;
            },
            unblockContact: async (contact) => {
                await rpc('contact_block', { contact: blockingLid(contact)._serialized, blocked: false });
                return true;
            },
        },
        WAWebBlockContactUtils: {
            getContactToBlockOnlyUseIfNoAssociatedChat: (contact) => {
                if (!contact || !contact.id || Chats.get(contact.id)) {
                    return contact;
                }
                const lid = lidOf(contact.id);
                if (!lid || lid._serialized === contact.id._serialized) {
                    return contact;
                }
                return Contacts.get(lid) || new Contact({ id: lid, phoneNumber: contact.id, isContactBlocked: Blocklist.has(lid) });
            },
        },
        WAWebFindCommonGroupsContactAction: {
            findCommonGroups: async (contact) => {
                const result = await rpc('common_groups', { contact: keyOf(contact.id) });
                const groups = new Collection(Model);
                groups.add((result.groups || []).map((id) => new Model({ id: createWid(id) })), { silent: true });
                const target = Contacts.get(contact.id) || contact;
                target.commonGroups = groups;
                if (target !== contact) {
                    contact.commonGroups = groups;
                }
                return groups;
            },
        },
        WAWebContactProfilePicThumbBridge: {
            // Takes the chat model (docs/whatsapp-web-surface.md §8.1 C32); without a picture the
            // server's 404 is thrown as ServerStatusCodeError.
            requestProfilePicFromServer: async (chat) => {
                if (!chat || !chat.id || typeof chat.id !== 'object') {
                    throw makeError("Cannot read properties of undefined (reading 'isGroup')");
                }
                const { eurl } = await rpc('profile_picture', { id: chat.id._serialized });
                return { eurl: new URL(eurl, location.href).href, tag: eurl.split('/').pop() };
            },
            sendSetPicture: async () => ({ status: 200 }),
            requestDeletePicture: async () => ({ status: 200 }),
        },
        WAWebSaveContactAction: { saveContactAction: notSimulated('saving contacts') },
        WAWebDeleteContactAction: { deleteContactAction: notSimulated('deleting contacts') },
        WAWebFrontendVcardUtils: {
            vcardFromContactModel: (contact) => ({
                vcard: `BEGIN:VCARD\nVERSION:3.0\nFN:${contact.formattedName}\nTEL;type=CELL;waid=${contact.id.user}:+${contact.id.user}\nEND:VCARD`,
            }),
        },
        WAWebVcardParsingUtils: {
            parseVcard: (text) => {
                const lines = String(text).split(/\r?\n/);
                const fields = {};
                for (const line of lines) {
                    const colon = line.indexOf(':');
                    if (colon > 0) {
                        fields[line.slice(0, colon).split(';')[0].toUpperCase()] = line.slice(colon + 1);
                    }
                }
                return fields;
            },
        },
        WAWebVcardGetNameFromParsed: { vcardGetNameFromParsed: (parsed) => (parsed && parsed.FN) || '' },
        WAWebApiDeviceList: { getDeviceIds: async () => [] },
        WAWebApiMessageInfoStore: { queryMsgInfo: async () => ({ delivery: [], read: [], played: [] }) },
        WAWap: {
            wap: (tag, attrs, content) => ({ tag, attrs: attrs || {}, content }),
            generateId: () => randomHex(8),
        },
        WADeprecatedSendIq: { deprecatedCastStanza: async () => true },

        // Hooks and tables clients wrap (§6).
        WAWebAddonReactionTableMode: { reactionTableMode },
        WAWebAddonPollVoteTableMode: { pollVoteTableMode },
        WAWebDBCreateOrUpdateReactions: { createOrUpdateReactions: async () => true },
        WAWebBackendJobsCommon: {
            mediaTypeFromProtobuf: (proto) => {
                const field = Object.keys(proto || {}).find((name) => PROTOBUF_MEDIA_TYPES[name]);
                return field ? PROTOBUF_MEDIA_TYPES[field] : null;
            },
        },
        WAWebE2EProtoUtils: {
            typeAttributeFromProtobuf: (proto) => {
                const fields = Object.keys(proto || {});
                if (fields.some((name) => PROTOBUF_MEDIA_TYPES[name])) {
                    return 'media';
                }
                return 'text';
            },
        },
        WAWebSyncGatingUtils: { isPlaceholderMessageResendEnabled: () => false },
        WAWebNonMessageDataRequestPlaceholderMessageResendUtils: { handlePlaceholderMsgsSeen: async () => true },

        // Settings and the rest of the surface whatsapp-web.js loads eagerly (Appendix B).
        WAWebUserPrefsGeneral: {
            getAutoDownloadAudio: () => userPrefs.autoDownloadAudio,
            getAutoDownloadDocuments: () => userPrefs.autoDownloadDocuments,
            getAutoDownloadPhotos: () => userPrefs.autoDownloadPhotos,
            getAutoDownloadVideos: () => userPrefs.autoDownloadVideos,
            setAutoDownloadAudio: (value) => { userPrefs.autoDownloadAudio = Boolean(value); },
            setAutoDownloadDocuments: (value) => { userPrefs.autoDownloadDocuments = Boolean(value); },
            setAutoDownloadPhotos: (value) => { userPrefs.autoDownloadPhotos = Boolean(value); },
            setAutoDownloadVideos: (value) => { userPrefs.autoDownloadVideos = Boolean(value); },
        },
        WAWebUserPrefsNotifications: {
            getGlobalOfflineNotifications: () => userPrefs.globalOfflineNotifications,
            setGlobalOfflineNotifications: (value) => { userPrefs.globalOfflineNotifications = Boolean(value); },
        },
        WAWebDrawerManager: { DrawerManager: { closeDrawerRight: () => true, openDrawerRight: () => true } },
        WAWebPinInChatSchema: { getTable: tableStub },
        WAWebPollsVotesSchema: { getTable: tableStub },
        WAWebPinMsgConstants: { getPinExpiryDuration: () => 7 * 24 * 3600 },
        WAWebSendPinMessageAction: { sendPinInChatMsg: notSimulated('pinning messages') },
        WAWebPollsSendVoteMsgAction: { sendVote: notSimulated('poll votes') },
        WAWebSendNonMessageDataRequest: { sendPeerDataOperationRequest: async () => true },
        WAWebGenerateEventCallLink: { createEventCallLink: async () => 'https://call.whatsapp.com/voice/simulated' },
        WAWebSendEventEditMsgAction: { sendEventEditMessage: notSimulated('event edits') },
        WAWebSendEventResponseMsgAction: { sendEventResponseMsg: notSimulated('event responses') },
        WAWebBotMessageSecret: { genBotMsgSecretFromMsgSecret: (secret) => secret },
        WAWebBizGatingUtils: { smbNotesV1Enabled: () => false },
        WAWebBizOrderBridge: { queryOrder: notSimulated('orders') },
        WAWebBizProductCatalogBridge: { queryProduct: notSimulated('products') },
        WAWebNoteAction: { noteAddAction: notSimulated('notes'), retrieveOnlyNoteForChatJid: async () => null },
        WAWebStatusGatingUtils: { canCheckStatusRankingPosterGating: () => false },
        WAWebSendStatusMsgAction: {
            sendStatusMediaMsgAction: notSimulated('status updates'),
            sendStatusTextMsgAction: notSimulated('status updates'),
        },
        WAWebRevokeStatusAction: { sendStatusRevokeMsgAction: notSimulated('status updates') },
        WAWebAddWebpMetadata: { addWebpMetadata: async (blob) => blob },
        WAWebLoadNewsletterPreviewChatAction: { loadNewsletterPreviewChat: notSimulated('channels') },
        WAWebNewsletterCreateQueryJob: { createNewsletterQuery: notSimulated('channels') },
        WAWebNewsletterDeleteAction: { deleteNewsletterAction: notSimulated('channels') },
        WAWebNewsletterDemoteAdminJob: { demoteNewsletterAdminAction: notSimulated('channels') },
        WAWebNewsletterDirectorySearchAction: { fetchNewsletterDirectories: notSimulated('channels') },
        WAWebNewsletterGatingUtils: { getMaxSubscriberNumber: () => 0, isNewsletterCreationEnabled: () => false, getNewsletterDirectoryPageSize: () => 50 },
        WAWebNewsletterMetadataQueryJob: { queryNewsletterMetadataByInviteCode: notSimulated('channels') },
        WAWebNewsletterModelUtils: { ADMIN_NOTIFICATIONS: {}, getRoleByIdentifier: () => undefined },
        WAWebNewsletterSendMessageJob: { sendNewsletterMessageJob: notSimulated('channels') },
        WAWebNewsletterSendMsgAction: { sendNewsletterAdminInviteMessage: notSimulated('channels') },
        WAWebNewsletterSubscribeAction: { subscribeToNewsletterAction: notSimulated('channels') },
        WAWebNewsletterSubscriberListAction: { getSubscribersInContacts: notSimulated('channels') },
        WAWebNewsletterUnsubscribeAction: { unsubscribeFromNewsletterAction: notSimulated('channels') },
        WAWebNewsletterUpdateMsgsRecordsJob: { addNewsletterMsgsRecords: notSimulated('channels'), updateNewsletterMsgRecord: notSimulated('channels') },
        WAWebNewsletterUpdateUserSettingJob: { updateNewsletterUserSetting: notSimulated('channels') },
        WAWebChangeNewsletterOwnerAction: { changeNewsletterOwnerAction: notSimulated('channels') },
        WAWebDemoteNewsletterAdminAction: { demoteNewsletterAdmin: notSimulated('channels') },
        WAWebEditNewsletterMetadataAction: { editNewsletterMetadataAction: notSimulated('channels') },
        WAWebMexAcceptNewsletterAdminInviteJob: { acceptNewsletterAdminInvite: notSimulated('channels') },
        WAWebMexFetchNewsletterSubscribersJob: { mexFetchNewsletterSubscribers: notSimulated('channels') },
        WAWebMexRevokeNewsletterAdminInviteJob: { revokeNewsletterAdminInvite: notSimulated('channels') },
    };

    // Turns today's module table into the configured generation's (docs/whatsapp-web-surface.md §9.1):
    // what an older page did not have yet is removed, what it had then is added, and a fictitious
    // generation's renames move modules or members to names no client knows.
    const applySurface = () => {
        const collections = modules.WAWebCollections;
        if (SURFACE.joinInviteInQueryJob) {
            modules.WAWebGroupQueryJob.joinGroupViaInvite = modules.WAWebGroupInviteJob.joinGroupViaInvite;
        }
        if (SURFACE.calls !== 'call-map') {
            delete modules.WAWebCallCollection;
            delete collections[SURFACE.calls === 'call-add' ? 'WAWebCallCollection' : 'Call'];
        }
        if (SURFACE.collectionNames === 'old') {
            delete modules.WAWebGroupMetadataCollection;
            delete collections.WAWebGroupMetadataCollection;
            collections.NewsletterCollection = collections.WAWebNewsletterCollection;
            delete collections.WAWebNewsletterCollection;
        }
        if (SURFACE.blocklist === 'phone-number') {
            delete modules.WAWebBlockContactUtils;
            delete modules.WAWebApiContact.getAlternateUserWid;
        }
        if (SURFACE.advKeyModule !== 'WAWebUserPrefsMultiDevice') {
            delete modules.WAWebUserPrefsMultiDevice;
            modules[SURFACE.advKeyModule].getADVSecretKey = async () => bytesToBase64(deviceKeys.adv);
        }
        for (const [path, newName] of Object.entries(SURFACE.renamed || {})) {
            const [moduleName, memberName] = path.split('.');
            const owner = memberName ? modules[moduleName] : modules;
            const key = memberName || moduleName;
            if (owner && Object.prototype.hasOwnProperty.call(owner, key)) {
                owner[newName] = owner[key];
                delete owner[key];
            }
        }
    };
    applySurface();

    // Msg.getMessagesById and Msg.search live on the collection, as in WhatsApp Web.
    Msgs.getMessagesById = getMessagesById;
    Msgs.search = async (query, page, count, remote) => {
        const text = String(query || '').toLowerCase();
        const messages = Msgs.getModelsArray().filter((msg) => (!remote || keyOf(msg.id.remote) === keyOf(remote))
            && String(msg.body || msg.caption || '').toLowerCase().includes(text));
        return { messages: messages.slice(0, count || 50), eof: true };
    };
    hidden(Msgs, 'modelClass', Msg);
    Chats.find = async (id) => {
        const found = Chats.get(id);
        if (found) {
            return found;
        }
        if (keyOf(id).endsWith('@c.us') && !SURFACE.chatFindByPhone) {
            // A migrated account's chats are kept by LID: a phone-number chat that is not in memory
            // is found with findOrCreateLatestChat (docs/whatsapp-web-surface.md §8.1 C2).
            throw makeError('Lid is missing in chat table');
        }
        const created = await findOrCreateLatestChat(createWid(id)).catch(() => null);
        return created && created.chat ? created.chat : new Chat({ id: createWid(id), t: 0, unreadCount: 0 });
    };
    Contacts.find = async (id) => {
        const found = Contacts.get(id);
        if (found) {
            return found;
        }
        if (!(id instanceof Wid)) {
            // An uncached contact is made from a Wid only (docs/whatsapp-web-surface.md §8.1 C37).
            throw makeError('gadd called without an id attr');
        }
        return new Contact({ id });
    };
    Contacts.gadd = (wid, options) => Contacts.get(wid) || Contacts.add(new Contact({ id: createWid(wid) }), options);
    GroupMetadatas.update = async (wid) => refreshGroup(wid).catch(() => GroupMetadatas.get(wid));
    GroupMetadatas.find = async (wid) => GroupMetadatas.get(wid) || refreshGroup(wid);
    NewsletterMetadata.update = async () => undefined;
    Reactions.find = async (id) => Reactions.get(id) || new Model({ id: keyOf(id), reactions: new Collection(Model) });
    ProfilePicThumbs.find = async (id) => {
        let thumb = ProfilePicThumbs.get(id);
        if (!thumb) {
            thumb = ProfilePicThumbs.add(new Model({ id: createWid(id), img: undefined, imgFull: undefined }), { silent: true });
            const canChange = () => isMe(thumb.id) || Boolean(Chats.get(thumb.id) && Chats.get(thumb.id).iAmAdmin());
            defineMethods(thumb, { canSet: canChange, canDelete: canChange });
        }
        return thumb;
    };
    Statuses.getMyStatus = async () => ({ status: '' });
    Labels.addOrRemoveLabels = notSimulated('labels');

    // Cmd: the command bus; its methods are WhatsApp Web's user actions.
    Object.assign(CmdBus, {
        archiveChat: (chat, archive) => chatAction(chat, archive ? 'archive' : 'unarchive'),
        pinChat: (chat, pin) => chatAction(chat, pin ? 'pin' : 'unpin'),
        markChatUnread: (chat, unread) => chatAction(chat, unread === false ? 'seen' : 'mark_unread'),
        sendStarMsgs: (chat, msgs) => rpc('star', { message_ids: messageList(msgs), starred: true }),
        sendUnstarMsgs: (chat, msgs) => rpc('star', { message_ids: messageList(msgs), starred: false }),
        sendRevokeMsgs: (chat, list) => rpc('delete', { message_ids: messageList(list), everyone: true }),
        sendDeleteMsgs: (chat, list) => rpc('delete', { message_ids: messageList(list), everyone: false }),
        refreshQR: () => refreshQr(),
        openChatBottom: async () => true,
        openChatAt: async () => true,
        openDrawerMid: () => true,
        chatSearch: () => true,
        msgInfoDrawer: () => true,
    });

    defineMethods(SocketModel, {
        logout: async () => {
            try {
                await rpc('logout', {});
            } catch (error) {
                // The server may unlink (and the page log out) before its answer arrives.
                if (!loggedOut) {
                    throw error;
                }
            }
            return true;
        },
        reconnect: () => {
            reconnectNow();
            return true;
        },
        takeover: async () => {
            await rpc('takeover', {});
            return true;
        },
    });
    defineMethods(ConnModel, { canSetMyPushname: () => true });
    defineMethods(StreamModel, {
        markAvailable: () => StreamModel.set({ available: true }),
        markUnavailable: () => StreamModel.set({ available: false }),
    });

    const refreshQr = () => {
        if (SocketModel.state === 'UNPAIRED_IDLE' || SocketModel.state === 'UNPAIRED') {
            reconnectNow();
        }
    };

    // ------------------------------------------------------------------------------------------
    // Simulated faults: a WhatsApp Web update that removed a module or a member.

    const faultModules = new Set();
    let removedMembers = [];

    const applyFaults = (moduleNames, memberPaths) => {
        for (const { owner, name, value } of removedMembers.reverse()) {
            owner[name] = value;
        }
        removedMembers = [];
        faultModules.clear();
        for (const name of moduleNames || []) {
            faultModules.add(String(name));
        }
        for (const path of memberPaths || []) {
            const parts = String(path).split('.');
            let owner = modules[parts[0]];
            for (const part of parts.slice(1, -1)) {
                owner = owner ? owner[part] : undefined;
            }
            const name = parts[parts.length - 1];
            if (owner && parts.length > 1 && Object.prototype.hasOwnProperty.call(owner, name)) {
                removedMembers.push({ owner, name, value: owner[name] });
                delete owner[name];
            }
        }
    };

    // ------------------------------------------------------------------------------------------
    // Server frames.

    let hasSyncedFired = false;
    let firstOfflineDone = false;
    let offlinePending = 0;
    let offlineDelivered = 0;

    const setOfflineProgress = (value) => {
        if (value !== offlineProgress) {
            offlineProgress = value;
            CmdBus.trigger('offline_progress_update');
            if (SURFACE.cmdEventsFromBridge) {
                CmdBus.trigger('offline_progress_update_from_bridge');
            }
        }
    };

    // WhatsApp Web's clients listen for change:hasSynced only once they saw CONNECTED; real syncs
    // take seconds, so wait (briefly) for someone to listen before announcing it.
    const fireHasSynced = () => {
        if (hasSyncedFired) {
            return;
        }
        hasSyncedFired = true;
        const started = Date.now();
        const attempt = () => {
            if (SocketModel.listenerCount('change:hasSynced') > 0 || Date.now() - started > 3000) {
                SocketModel.set({ hasSynced: true });
                return;
            }
            setTimeout(attempt, 50);
        };
        setTimeout(attempt, 0);
    };

    const applySync = (frame) => {
        if (frame.me) {
            me.pn = frame.me.id ? createWid(frame.me.id) : null;
            me.lid = frame.me.lid ? createWid(frame.me.lid) : null;
            rememberLid(me.lid, me.pn);
            ConnModel.set({ pushname: frame.me.pushname ?? null, platform: frame.me.platform ?? null, wid: me.pn || me.lid });
        }
        Msgs.reset();
        Chats.reset();
        Contacts.reset();
        GroupMetadatas.reset();
        Blocklist.reset();
        for (const blocked of frame.blocklist || []) {
            Blocklist.add(new Model({ id: blockEntryOf(blocked) || createWid(blocked) }), { silent: true });
        }
        for (const contact of frame.contacts || []) {
            upsertContact(contact, { silent: true });
        }
        for (const group of frame.groups || []) {
            upsertGroup(group, { silent: true });
        }
        for (const chat of frame.chats || []) {
            upsertChat(chat, { silent: true });
        }
        const ordered = (frame.messages || []).slice().sort((left, right) => (left.t || 0) - (right.t || 0));
        for (const data of ordered) {
            addMessage(Object.assign({}, data, { isNewMsg: false }), { silent: true });
        }
    };

    // Test aid (POST /_sim/hog): arrays the page holds on to, as a leaking page would.
    const hogged = [];
    const HOG_CHUNK = 131072; // doubles: 1 MiB per chunk

    // A reaction or poll-vote row from the server with models' types: its own key and its parent's
    // as MsgKeys, the senders as Wids.
    const tableRow = (data, parentKeyField) => {
        const row = Object.assign({}, data);
        row.id = keyFromData(row.id);
        row[parentKeyField] = keyFromData(row[parentKeyField]);
        for (const field of ['author', 'from', 'to']) {
            if (typeof row[field] === 'string') {
                row[field] = createWid(row[field]);
            }
        }
        return row;
    };

    const handleFrame = (frame) => {
        switch (frame.t) {
        case 'hog': {
            const mib = Math.max(0, Math.floor(Number(frame.mib) || 0));
            if (mib === 0) {
                hogged.length = 0;
            }
            for (let n = 0; n < mib; n += 1) {
                const chunk = new Array(HOG_CHUNK);
                for (let i = 0; i < HOG_CHUNK; i += 1) {
                    chunk[i] = i + 0.5;
                }
                hogged.push(chunk);
            }
            return;
        }
        case 'reply': {
            const pending = pendingCalls.get(frame.id);
            if (!pending) {
                return;
            }
            pendingCalls.delete(frame.id);
            if (frame.ok) {
                pending.resolve(frame.result === undefined ? {} : frame.result);
            } else {
                const error = frame.error || {};
                pending.reject(serverError(error.status || 500, error.message || 'the server refused'));
            }
            return;
        }
        case 'unpaired': {
            const forget = storedDevice() ? storeDevice(null) : Promise.resolve();
            if (everSynced) {
                // The phone removed this device while the page was away.
                return forget.then(logoutNow);
            }
            ConnModel.set({ ref: frame.ref });
            SocketModel.set({ state: 'UNPAIRED' });
            return forget;
        }
        case 'ref':
            ConnModel.set({ ref: frame.ref });
            return;
        case 'state':
            SocketModel.set({ state: frame.state, stream: frame.state === 'CONNECTED' ? 'CONNECTED' : SocketModel.stream });
            return;
        case 'linked':
            return storeDevice(frame.device);
        case 'sync':
            applySync(frame);
            return;
        case 'offline':
            offlinePending = Number(frame.pending) || 0;
            offlineDelivered = 0;
            setOfflineProgress(offlinePending > 0 ? 0 : 100);
            return;
        case 'offline_done':
            setOfflineProgress(100);
            everSynced = true;
            if (!firstOfflineDone) {
                firstOfflineDone = true;
                fireHasSynced();
            }
            return;
        case 'msg_add': {
            // The moment the page has the message, before any listener of the Store runs: latency
            // benchmarks measure the clients from here (simulator/stamps.py).
            const handedAt = frame.stamp ? performance.timeOrigin + performance.now() : 0;
            addMessage(frame.msg);
            if (frame.stamp) {
                sendFrame({ t: 'msg_stamp', id: frame.msg.id._serialized, at: handedAt, wall: Date.now() });
            }
            if (offlinePending > 0 && offlineProgress < 100) {
                offlineDelivered += 1;
                setOfflineProgress(Math.min(99, Math.floor((offlineDelivered * 100) / offlinePending)));
            }
            return;
        }
        case 'msg_update': {
            const msg = Msgs.get(frame.id);
            if (!msg) {
                return;
            }
            const changes = Object.assign({}, frame.changes || {});
            for (const field of WID_FIELDS) {
                if (typeof changes[field] === 'string') {
                    changes[field] = createWid(changes[field]);
                }
            }
            msg.set(changes);
            if (changes.directPath) {
                msg.attachMedia();
            }
            return;
        }
        case 'msg_remove': {
            const msg = Msgs.get(frame.id);
            if (msg) {
                const chat = Chats.get(msg.id.remote);
                if (chat) {
                    chat.msgs.remove(msg, { silent: true });
                }
                Msgs.remove(msg);
            }
            return;
        }
        case 'chat_upsert':
            upsertChat(frame.chat);
            return;
        case 'chat_remove': {
            const chat = Chats.get(frame.id);
            if (chat) {
                for (const msg of chat.msgs.getModelsArray()) {
                    Msgs.remove(msg, { silent: true });
                }
                Chats.remove(chat);
            }
            return;
        }
        case 'contact_upsert':
            upsertContact(frame.contact);
            return;
        case 'group_upsert':
            upsertGroup(frame.group);
            return;
        case 'me':
            ConnModel.set(Object.assign({}, frame.changes || {}));
            return;
        case 'reaction': {
            const row = tableRow(frame.row, 'reactionParentKey');
            const parent = Msgs.get(row.reactionParentKey);
            if (parent) {
                parent.set({ hasReaction: Boolean(row.reactionText) || parent.hasReaction });
            }
            // Through the module property: clients wrap bulkUpsert to hear about reactions.
            const table = modules.WAWebAddonReactionTableMode && modules.WAWebAddonReactionTableMode.reactionTableMode;
            if (table && typeof table.bulkUpsert === 'function') {
                Promise.resolve(table.bulkUpsert([row])).catch((error) => console.error('reaction table', error));
            }
            return;
        }
        case 'poll_vote': {
            const row = tableRow(frame.row, 'pollUpdateParentKey');
            // Through the module property: clients wrap bulkUpsert to hear about votes.
            const table = modules.WAWebAddonPollVoteTableMode && modules.WAWebAddonPollVoteTableMode.pollVoteTableMode;
            if (table && typeof table.bulkUpsert === 'function') {
                Promise.resolve(table.bulkUpsert([row])).catch((error) => console.error('poll vote table', error));
            }
            return;
        }
        case 'call_add': {
            // An incoming call is written into WAWebCallCollection's own Map, no `add` event
            // (docs/whatsapp-web-surface.md §8.1 C20).
            const data = Object.assign({}, frame.call);
            data.peerJid = createWid(data.peerJid);
            // Before 2026-04 the call collection fired `add` (§9.1).
            Calls.add(new Call(data), { silent: SURFACE.calls === 'call-map' });
            return;
        }
        case 'logout':
            return storeDevice(null).then(logoutNow);
        case 'faults':
            applyFaults(frame.modules, frame.members);
            sendFrame({ t: 'faults_applied', seq: frame.seq });
            return;
        case 'calls_collect':
            sendFrame({ t: 'calls', seq: frame.seq, calls: takeRecordedCalls() });
            return;
        default:
        }
    };

    const logoutNow = () => {
        if (loggedOut) {
            return;
        }
        loggedOut = true;
        CmdBus.trigger('logout');
        if (SURFACE.cmdEventsFromBridge) {
            CmdBus.trigger('logout_from_bridge');
        }
        dropSocket(serverError(401, 'logged out'));
        setTimeout(() => {
            location.assign(`${location.pathname}?post_logout=1`);
        }, 200);
    };

    // ------------------------------------------------------------------------------------------
    // The module system and the version, as WhatsApp Web exposes them.

    // ------------------------------------------------------------------------------------------
    // Call recording (option `recordCalls`): which module members a client calls and the shape of
    // the arguments (types and object keys, never values), for the differential test that runs the
    // same scenario through whatsapp-web.js and through the project's bridge. Clients reach modules
    // only through window.require, so only their calls are seen: the page's own code keeps direct
    // references. Signatures are kept once each, so memory stays bounded.

    const recordedCalls = new Set();
    const RECORD_DEPTH = 3;

    const shapeOf = (value, depth) => {
        if (value === null) {
            return 'null';
        }
        const type = typeof value;
        if (type !== 'object') {
            return type;
        }
        if (Array.isArray(value)) {
            return value.length ? `array<${shapeOf(value[0], depth + 1)}>` : 'array';
        }
        const prototype = Object.getPrototypeOf(value);
        if (prototype !== Object.prototype && prototype !== null) {
            const name = prototype.constructor && prototype.constructor.name;
            return name || 'object';
        }
        if (depth >= 2) {
            return 'object';
        }
        const keys = Object.keys(value).filter((key) => value[key] !== undefined).sort();
        return `{${keys.map((key) => `${key}:${shapeOf(value[key], depth + 1)}`).join(',')}}`;
    };

    const recordCall = (path, args) => {
        recordedCalls.add(`${path}(${Array.from(args, (arg) => shapeOf(arg, 0)).join(', ')})`);
    };

    // One proxy per (object, path), so that a client comparing what it required twice sees the same.
    const recordingProxies = new Map();
    // Function.prototype's apply/call/bind stay plain: called on a recording proxy they reach its apply trap.
    const NOT_RECORDED = new Set(['prototype', 'constructor', '__proto__', 'apply', 'call', 'bind']);

    const recording = (target, path, depth) => {
        const key = `${path}`;
        const cached = recordingProxies.get(key);
        if (cached && cached.target === target) {
            return cached.proxy;
        }
        const handler = {
            get(object, name) {
                // The real object is the receiver: getters and methods may use private state.
                const value = Reflect.get(object, name);
                if (typeof name === 'symbol' || NOT_RECORDED.has(name) || depth >= RECORD_DEPTH) {
                    return value;
                }
                if (typeof value === 'function' || (value !== null && typeof value === 'object' && !Array.isArray(value)
                    && (Object.getPrototypeOf(value) === Object.prototype || value instanceof Collection || value instanceof Model))) {
                    return recording(value, `${path}.${name}`, depth + 1);
                }
                return value;
            },
        };
        if (typeof target === 'function') {
            handler.apply = (fn, thisArg, args) => {
                recordCall(path, args);
                const owner = recordingProxies.get(path.slice(0, path.lastIndexOf('.')));
                return Reflect.apply(fn, owner && thisArg === owner.proxy ? owner.target : thisArg, args);
            };
            handler.construct = (fn, args, newTarget) => {
                recordCall(`new ${path}`, args);
                return Reflect.construct(fn, args, newTarget === recordingProxies.get(key)?.proxy ? fn : newTarget);
            };
        }
        const proxy = new Proxy(target, handler);
        recordingProxies.set(key, { target, proxy });
        return proxy;
    };

    const takeRecordedCalls = () => {
        const calls = Array.from(recordedCalls).sort();
        recordedCalls.clear();
        return calls;
    };

    const requireModule = (name) => {
        const key = String(name);
        if (faultModules.has(key) || !Object.prototype.hasOwnProperty.call(modules, key)) {
            throw makeError(`Requiring unknown module "${key}"`);
        }
        return config.recordCalls ? recording(modules[key], key, 0) : modules[key];
    };

    if (config.faults) {
        applyFaults(config.faults.modules, config.faults.members);
    }
    Object.defineProperty(window, 'require', { value: requireModule, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(window, 'Debug', { value: { VERSION }, writable: true, configurable: true, enumerable: false });

    const renderStatus = () => {
        const element = document.getElementById('wa-sim-status');
        if (element) {
            element.textContent = `${SocketModel.state}${ConnModel.ref && SocketModel.state.startsWith('UNPAIRED') ? ' (scan the QR on the phone page)' : ''}`;
        }
    };
    SocketModel.on('change:state', renderStatus);
    document.addEventListener('DOMContentLoaded', renderStatus);

    connect();
})();
