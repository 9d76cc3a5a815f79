// The bridge between WhatsApp Web and the Python client.
//
// Installed once per document, before the page's own scripts. It waits for WhatsApp Web's module
// system, listens to its collections and models, and runs operations for Python. It calls only
// WhatsApp Web's own modules, by the names and members documented in the project's reference
// (docs/whatsapp-web-surface.md); module access goes through mod(), member() and
// invoke() so a test can list every module name used here.
//
// Python -> page: evaluate("(op, args) => globalThis.__whatsappWebBridge.callEncoded(op, args)", op, args).
//   call() never throws: it resolves to {ok: true, result} or {ok: false, error: {code, message, ...}}.
//   callEncoded() hands that answer over as one JSON string or, when it is long, as
//   {handle, parts}: Python then fetches the parts with answerPart(handle, index), several at once.
// Page -> Python: the binding BINDING_NAME (random per page), called with one JSON string {seq, events: [...]}. Events
//   are queued and handed over in batches, in order; seq counts batches per document.
//
// User data only ever arrives as JSON arguments of call(); nothing here builds code from data.
(() => {
    'use strict';

    const BRIDGE_GLOBAL = '__whatsappWebBridge';
    // Random for each page: the client writes it here (client.py, bridge_script).
    const BINDING_NAME = '__BINDING_NAME__';
    const BRIDGE_VERSION = 1;
    // The binding is taken before any page script runs and removed from the page, so that only this
    // closure can call Python (the drivers also drop calls from other frames and worlds).
    const sendToPython = globalThis[BINDING_NAME];
    delete globalThis[BINDING_NAME];
    if (Object.prototype.hasOwnProperty.call(globalThis, BRIDGE_GLOBAL)) {
        return;
    }

    // ----------------------------------------------------------------------------------------
    // Errors that Python maps onto its own hierarchy.

    class BridgeError extends Error {
        constructor(code, message, extra) {
            super(message);
            this.code = code;
            this.extra = extra || {};
        }
    }

    const changed = (missing) =>
        new BridgeError('whatsapp_web_changed', `WhatsApp Web changed: ${missing} is missing`, { missing });
    const notFound = (code, id) => new BridgeError(code, `${code.replace('_not_found', '')} ${id} not found`, { id });
    const failed = (message) => new BridgeError('operation_failed', message);
    const invalid = (field, message) => new BridgeError('invalid_argument', message, { field });

    // ----------------------------------------------------------------------------------------
    // Module access. Every module name used by this file appears as the first argument of mod(),
    // member(), invoke() or optionalMod().

    const mod = (name) => {
        let exported;
        try {
            exported = window.require(name);
        } catch (error) {
            throw changed(name);
        }
        if (exported === undefined || exported === null) {
            throw changed(name);
        }
        return exported;
    };

    const optionalMod = (name) => {
        try {
            return window.require(name) ?? null;
        } catch (error) {
            return null;
        }
    };

    const member = (moduleName, path) => {
        let value = mod(moduleName);
        for (const key of path.split('.')) {
            value = value === undefined || value === null ? undefined : value[key];
            if (value === undefined || value === null) {
                throw changed(`${moduleName}.${path}`);
            }
        }
        return value;
    };

    // Calls a function member with its owner as `this`, as WhatsApp Web's own code does.
    const invoke = (moduleName, path, ...args) => {
        const dot = path.lastIndexOf('.');
        const owner = dot < 0 ? mod(moduleName) : member(moduleName, path.slice(0, dot));
        const fn = owner[path.slice(dot + 1)];
        if (typeof fn !== 'function') {
            throw changed(`${moduleName}.${path}`);
        }
        return fn.apply(owner, args);
    };

    const collection = (name) => member('WAWebCollections', name);

    const callMethod = (target, name, description, ...args) => {
        if (!target || typeof target[name] !== 'function') {
            throw changed(description);
        }
        return target[name](...args);
    };

    // ----------------------------------------------------------------------------------------
    // Plain data: what crosses to Python must survive JSON. Models and Wids are turned into plain
    // objects; functions, binary data and cycles are dropped.

    const MAX_DEPTH = 6;

    const plainScalar = (value, kind) => {
        if (kind === 'string' || kind === 'boolean') {
            return value;
        }
        if (kind === 'number') {
            return Number.isFinite(value) ? value : null;
        }
        if (kind === 'bigint') {
            return value.toString();
        }
        return undefined;
    };

    // `path` holds the objects being walked (at most MAX_DEPTH + 1), enough to see a cycle.
    const toPlain = (value, depth = 0, path = []) => {
        if (value === null || value === undefined) {
            return value;
        }
        const kind = typeof value;
        if (kind !== 'object') {
            return plainScalar(value, kind);
        }
        if (depth > MAX_DEPTH || path.includes(value)) {
            return undefined;
        }
        if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Blob) {
            return undefined;
        }
        if (typeof value._serialized === 'string') {
            return widToPlain(value);
        }
        if (value instanceof Date) {
            return Math.floor(value.getTime() / 1000);
        }
        path.push(value);
        try {
            if (Array.isArray(value) || value instanceof Set) {
                const out = [];
                for (const item of value) {
                    out.push(toPlain(item, depth + 1, path) ?? null);
                }
                return out;
            }
            const out = {};
            if (value instanceof Map) {
                for (const [key, item] of value) {
                    const plain = toPlain(item, depth + 1, path);
                    if (plain !== undefined) {
                        out[String(key)] = plain;
                    }
                }
                return out;
            }
            const source = typeof value.serialize === 'function' && depth > 0 ? value.serialize() : value;
            for (const key of Object.keys(source)) {
                const plain = toPlain(source[key], depth + 1, path);
                if (plain !== undefined) {
                    out[key] = plain;
                }
            }
            return out;
        } finally {
            path.pop();
        }
    };

    const widToPlain = (wid) => {
        if (!wid) {
            return null;
        }
        if (typeof wid === 'string') {
            const at = wid.indexOf('@');
            return { server: wid.slice(at + 1), user: wid.slice(0, at), _serialized: wid };
        }
        const key = { server: wid.server, user: wid.user, _serialized: wid._serialized };
        if (typeof wid.fromMe === 'boolean') {
            // A MsgKey: keep its own shape, with the chat as a string as WhatsApp Web's clients expect.
            return {
                fromMe: wid.fromMe,
                remote: widString(wid.remote),
                id: wid.id,
                participant: wid.participant ? widToPlain(wid.participant) : undefined,
                _serialized: wid._serialized,
            };
        }
        return key;
    };

    const widString = (wid) => (wid && typeof wid === 'object' ? wid._serialized : wid ?? null);

    const createWid = (id) => invoke('WAWebWidFactory', 'createWid', id);

    // ----------------------------------------------------------------------------------------
    // Event queue: coalesced, ordered batches through the binding.

    const queue = [];
    let batchSeq = 0;
    let flushTimer = null;
    let flushing = false;

    const emit = (type, data) => {
        queue.push(Object.assign({ type, at: Date.now() }, data));
        if (flushTimer === null && !flushing) {
            flushTimer = setTimeout(flush, 0);
        }
    };

    const flush = async () => {
        flushTimer = null;
        if (flushing || queue.length === 0) {
            return;
        }
        if (typeof sendToPython !== 'function') {
            // A document the client did not set up (the binding is installed before this script).
            queue.length = 0;
            return;
        }
        flushing = true;
        const events = queue.splice(0, queue.length);
        batchSeq += 1;
        try {
            await sendToPython(JSON.stringify({ seq: batchSeq, events }));
        } catch (error) {
            queue.unshift(...events);
            batchSeq -= 1;
        } finally {
            flushing = false;
            if (queue.length > 0 && flushTimer === null) {
                flushTimer = setTimeout(flush, 0);
            }
        }
    };

    const report = (feature, error) => {
        if (error instanceof BridgeError && error.code === 'whatsapp_web_changed') {
            emit('capability_missing', { feature, missing: error.extra.missing });
        } else {
            emit('bridge_error', { feature, message: String(error && error.message ? error.message : error) });
        }
    };

    // ----------------------------------------------------------------------------------------
    // Records: what Python receives for messages, chats, contacts, groups, calls and reactions.

    // An answer of many records (getChats with 5,000 chats). Its records are built when they are
    // handed over, part by part for a long list (see callEncoded), so that the page building one
    // part, the transfer of another and Python parsing a third overlap. The items are fixed when
    // the operation answers; a record holds its item's state when its part is built.
    class RecordList {
        constructor(items, toRecord) {
            this.items = items;
            this.toRecord = toRecord;
        }

        // Plain records of items[start, end); items without a record (a message that cannot be
        // serialized any more) are left out.
        records(start = 0, end = this.items.length) {
            const out = [];
            for (let index = start; index < Math.min(end, this.items.length); index += 1) {
                const record = this.toRecord(this.items[index]);
                if (record) {
                    out.push(record);
                }
            }
            return out;
        }
    }

    // Message bodies of media messages hold a thumbnail; Python gets the caption instead.
    const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'ptt', 'document', 'sticker']);

    const messageRecord = (msg) => {
        const data = toPlain(callMethod(msg, 'serialize', 'Msg.serialize'));
        if (!data || !data.id) {
            return null;
        }
        data.id = widToPlain(msg.id);
        data.isEphemeral = toPlain(msg.isEphemeral);
        data.isStatusV3 = toPlain(msg.isStatusV3);
        const mediaText = msg.mediaObject ? msg.caption : msg.body;
        try {
            const linkify = mod('WALinkify');
            const found = typeof mediaText === 'string' && mediaText ? linkify.findLinks(mediaText) : [];
            data.links = (found || []).map((link) => ({
                link: link.href,
                isSuspicious: Boolean(link.suspiciousCharacters && link.suspiciousCharacters.size),
            }));
        } catch (error) {
            data.links = [];
        }
        if (MEDIA_TYPES.has(data.type) && typeof data.body === 'string' && data.directPath) {
            delete data.body;
        }
        delete data.pendingAckUpdate;
        delete data.mediaData;
        return data;
    };

    // A chat record holds what whatsapp-web.js's Chat exposes (the add-on's chat JSON), taken from
    // serialize(). The rest of serialize() stays in the page: on WhatsApp Web it holds dozens of
    // internal keys (privacy tokens, history-sync state) that nobody reads and that made the chat
    // list several times longer to hand over.
    const CHAT_FIELDS = ['name', 't', 'unreadCount', 'archive', 'pin', 'isLocked'];

    const chatRecord = (chat) => {
        const serialized = callMethod(chat, 'serialize', 'Chat.serialize') || {};
        const data = { id: widToPlain(chat.id) };
        for (const field of CHAT_FIELDS) {
            const value = toPlain(serialized[field]);
            if (value !== undefined) {
                data[field] = value;
            }
        }
        data.formattedTitle = toPlain(chat.formattedTitle);
        data.isGroup = Boolean(chat.groupMetadata);
        data.isMuted = Boolean(chat.mute && chat.mute.expiration !== 0);
        data.muteExpiration = chat.mute ? toPlain(chat.mute.expiration) : 0;
        if (chat.groupMetadata) {
            data.groupMetadata = groupMetadataRecord(chat.groupMetadata);
            data.isReadOnly = Boolean(chat.groupMetadata.announce);
        } else {
            data.isReadOnly = false;
        }
        data.lastMessage = null;
        const loaded = chat.msgs ? chat.msgs.getModelsArray() : [];
        for (let index = loaded.length - 1; index >= 0; index -= 1) {
            if (!loaded[index].isNotification) {
                data.lastMessage = messageRecord(loaded[index]);
                break;
            }
        }
        return data;
    };

    // Participants of a LID-addressed group are keyed by LID; they are reported by phone number
    // where the page knows it (as whatsapp-web.js does), with `lid` keeping the LID.
    const groupMetadataRecord = (metadata) => {
        const data = toPlain(callMethod(metadata, 'serialize', 'GroupMetadata.serialize'));
        if (data && metadata.participants) {
            data.participants = toPlain(callMethod(metadata.participants, 'serialize', 'GroupMetadata.participants.serialize'));
            for (const participant of data.participants || []) {
                const phone = participant.id && participant.id.server === 'lid' ? lidToPhone(createWid(participant.id._serialized)) : null;
                if (phone && phone.server !== 'lid') {
                    participant.lid = participant.id._serialized;
                    participant.id = widToPlain(phone);
                }
            }
        }
        return data;
    };

    // Contact record fields read through WAWebContactGetters: [field, getter].
    const CONTACT_GETTERS = [
        ['isMe', 'getIsMe'], ['isUser', 'getIsUser'], ['isGroup', 'getIsGroup'],
        ['isWAContact', 'getIsWAContact'], ['userid', 'getUserid'], ['verifiedName', 'getVerifiedName'],
        ['verifiedLevel', 'getVerifiedLevel'], ['statusMute', 'getStatusMute'], ['name', 'getName'],
        ['shortName', 'getShortName'], ['pushname', 'getPushname'], ['isEnterprise', 'getIsEnterprise'],
    ];

    // The block list holds LIDs, so a phone-number contact's own flag reads false: look its LID up
    // too (docs/whatsapp-web-surface.md §8.1 C33).
    const isBlocked = (contact) => {
        if (contact.isContactBlocked) {
            return true;
        }
        const alternate = alternateId(contact.id);
        const blocklist = optionalMod('WAWebCollections') && optionalMod('WAWebCollections').Blocklist;
        return Boolean(alternate && blocklist && typeof blocklist.get === 'function' && blocklist.get(alternate));
    };

    // The other id of a user (LID for a phone number, phone number for a LID), when the page knows it.
    const alternateId = (wid) => {
        const api = optionalMod('WAWebApiContact');
        if (!api || !wid || typeof wid !== 'object') {
            return null;
        }
        try {
            if (typeof api.getAlternateUserWid === 'function') {
                return api.getAlternateUserWid(wid) || null;
            }
            return (wid.server === 'lid' ? api.getPhoneNumber(wid) : api.getCurrentLid(wid)) || null;
        } catch (error) {
            return null;
        }
    };

    // The sender's other id (LID for a phone number, phone number for a LID) when the page knows it:
    // the integration keeps these pairs so that a person is recognised whichever id WhatsApp uses.
    const senderAlternateId = (msg) => {
        if (msg.id && msg.id.fromMe) {
            return null;
        }
        const sender = msg.author || msg.from;
        if (!sender || typeof sender !== 'object' || (sender.server !== 'c.us' && sender.server !== 'lid')) {
            return null;
        }
        return widString(alternateId(sender));
    };

    // A contact known by LID is reported by its phone number when the page knows it, as
    // whatsapp-web.js does; `lid` keeps the LID.
    const contactRecord = (contact) => {
        const data = toPlain(callMethod(contact, 'serialize', 'Contact.serialize'));
        data.id = widToPlain(contact.id);
        if (contact.id && contact.id.server === 'lid' && contact.phoneNumber) {
            data.id = widToPlain(contact.phoneNumber);
            data.lid = widString(contact.id);
        }
        data.isBusiness = Boolean(contact.isBusiness);
        data.isBlocked = isBlocked(contact);
        const getters = optionalMod('WAWebContactGetters');
        if (getters) {
            for (const [field, getter] of CONTACT_GETTERS) {
                if (typeof getters[getter] === 'function') {
                    data[field] = toPlain(getters[getter](contact));
                }
            }
        }
        const frontend = optionalMod('WAWebFrontendContactGetters');
        if (frontend && typeof frontend.getIsMyContact === 'function') {
            data.isMyContact = Boolean(frontend.getIsMyContact(contact));
        }
        if (contact.phoneNumber) {
            data.phoneNumber = widString(contact.phoneNumber);
        }
        return data;
    };

    const callRecord = (call) => {
        const data = toPlain(typeof call.serialize === 'function' ? call.serialize() : call);
        data.id = call.id;
        data.peerJid = widString(call.peerJid);
        return data;
    };

    const reactionRecord = (row) => {
        const sender = row.author || row.from;
        return Object.assign(toPlain(row) || {}, {
            msgKey: widToPlain(row.id),
            parentMsgKey: widToPlain(row.reactionParentKey),
            timestamp: Math.floor(Number(row.reactionTimestamp || 0) / 1000),
            senderUserJid: widString(sender),
        });
    };

    // A vote row names the poll; its options' names come from the poll message, fetched when it
    // is not in memory (docs/whatsapp-web-surface.md §4.8).
    const pollVoteRecord = async (row) => {
        const parentKey = widString(row.pollUpdateParentKey);
        const parent = parentKey ? await findMessage(parentKey).catch(() => null) : null;
        const options = parent && Array.isArray(parent.pollOptions) ? parent.pollOptions : [];
        const selected = Array.from(row.selectedOptionLocalIds || [], (localId) => {
            const option = options.find((item) => item.localId === localId);
            return { name: option ? String(option.name) : null, localId };
        });
        return {
            msgKey: widToPlain(row.id),
            parentMsgKey: widToPlain(row.pollUpdateParentKey),
            voter: widString(row.author || row.from),
            selectedOptions: selected,
            timestamp: Math.floor(Number(row.t || 0) / 1000),
            senderTimestampMs: toPlain(row.senderTimestampMs) ?? null,
            parentMessage: parent ? messageRecord(parent) : null,
        };
    };

    // ----------------------------------------------------------------------------------------
    // Connection state, QR and pairing.

    const socket = () => member('WAWebSocketModel', 'Socket');
    const conn = () => member('WAWebConnModel', 'Conn');
    let synced = false;
    let offlineProgress = 100;

    const registrationMember = (name) => {
        // WhatsApp Web spreads these four modules into one object; the last one wins, as with a spread.
        const sources = [
            optionalMod('WAWebCompanionRegClientUtils'),
            optionalMod('WAWebAdvSignatureApi'),
            optionalMod('WAWebUserPrefsInfoStore'),
            optionalMod('WAWebSignalStoreApi'),
        ];
        let found;
        for (const source of sources) {
            if (source && source[name] !== undefined) {
                found = source[name];
            }
        }
        if (found === undefined) {
            throw changed(`WAWebCompanionRegClientUtils/WAWebAdvSignatureApi/WAWebUserPrefsInfoStore/WAWebSignalStoreApi.${name}`);
        }
        return found;
    };

    const buildQr = async (ref) => {
        if (!ref) {
            return null;
        }
        const encode = (bytes) => invoke('WABase64', 'encodeB64', bytes);
        const noise = registrationMember('waNoiseInfo');
        const signal = registrationMember('waSignalStore');
        const noiseInfo = await noise.get();
        const registration = await signal.getRegistrationInfo();
        // getADVSecretKey moved to WAWebUserPrefsMultiDevice (docs/whatsapp-web-surface.md
        // §8.1 C38); older pages have it in the registration modules.
        const advSecret = shapeOf('qrAdvSecretKey') === 'WAWebUserPrefsMultiDevice'
            ? await invoke('WAWebUserPrefsMultiDevice', 'getADVSecretKey')
            : await registrationMember('getADVSecretKey')();
        const platform = registrationMember('DEVICE_PLATFORM');
        return [
            ref,
            encode(noiseInfo.staticKeyPair.pubKey),
            encode(registration.identityKeyPair.pubKey),
            advSecret,
            platform,
        ].join(',');
    };

    let lastQrRef = null;
    const emitQr = async (ref) => {
        if (!ref || ref === lastQrRef) {
            return;
        }
        lastQrRef = ref;
        try {
            emit('qr', { qr: await buildQr(ref) });
        } catch (error) {
            lastQrRef = null;
            report('qr', error);
        }
    };

    const meIds = () => {
        const pn = optionalMod('WAWebUserPrefsMeUser');
        const pnUser = pn && typeof pn.getMaybeMePnUser === 'function' ? pn.getMaybeMePnUser() : null;
        const lidUser = pn && typeof pn.getMaybeMeLidUser === 'function' ? pn.getMaybeMeLidUser() : null;
        return { pnUser, lidUser };
    };

    const meRecord = () => {
        const { pnUser, lidUser } = meIds();
        const info = toPlain(callMethod(conn(), 'serialize', 'WAWebConnModel.Conn.serialize')) || {};
        return {
            wid: widString(pnUser || lidUser),
            lid: widString(lidUser),
            pushname: info.pushname ?? null,
            platform: info.platform ?? null,
        };
    };

    const stateSnapshot = () => {
        let state = null;
        try {
            state = socket().state ?? null;
        } catch (error) {
            state = null;
        }
        return {
            state,
            synced,
            offlineProgress,
            url: location.href,
            version: window.Debug ? String(window.Debug.VERSION) : null,
        };
    };

    const readOfflineProgress = () => {
        try {
            const value = invoke('WAWebOfflineHandler', 'OfflineMessageHandler.getOfflineDeliveryProgress');
            return typeof value === 'number' ? value : 100;
        } catch (error) {
            return 100;
        }
    };

    const onOfflineProgress = () => {
        const value = readOfflineProgress();
        if (value !== offlineProgress) {
            offlineProgress = value;
            emit('offline_progress', { percent: value });
        }
    };

    // ----------------------------------------------------------------------------------------
    // Listeners: attached once per document when WhatsApp Web's modules are ready.

    const pendingCiphertext = new WeakSet();

    const onMessageAdded = (msg) => {
        if (!msg || !msg.isNewMsg) {
            return;
        }
        if (msg.type === 'ciphertext') {
            // Not decrypted yet: WhatsApp Web changes its type when it is.
            if (!pendingCiphertext.has(msg) && typeof msg.once === 'function') {
                pendingCiphertext.add(msg);
                msg.once('change:type', () => onMessageAdded(msg));
            }
            return;
        }
        const offline = offlineProgress < 100;
        const record = messageRecord(msg);
        if (!record) {
            return;
        }
        if (!offline) {
            rememberLive(msg.id._serialized);
        }
        rememberBeforeRevoke(msg, record);
        if (msg.type === 'gp2') {
            emit('group_notification', { message: record, offline });
        } else {
            emit('message', { message: record, offline, senderAlternateId: senderAlternateId(msg) });
        }
    };

    // Messages this document saw arrive live (not by offline delivery, not in the initial sync): a
    // catch-up that meets them again reports them as live, whatever their timestamp.
    const liveMessageIds = new Set();
    const rememberLive = (serialized) => {
        liveMessageIds.add(serialized);
        if (liveMessageIds.size > 5000) {
            liveMessageIds.delete(liveMessageIds.values().next().value);
        }
    };

    // The newest form of recent messages by key id: a revoke for everyone reports what it replaced.
    const lastSeenBeforeRevoke = new Map();
    const rememberBeforeRevoke = (msg, record) => {
        if (!msg || !msg.id || !record || msg.type === 'revoked') {
            return;
        }
        lastSeenBeforeRevoke.delete(msg.id.id);
        lastSeenBeforeRevoke.set(msg.id.id, record);
        if (lastSeenBeforeRevoke.size > 500) {
            lastSeenBeforeRevoke.delete(lastSeenBeforeRevoke.keys().next().value);
        }
    };

    // Messages leave memory only when the client asks (client/message_cache.py says why and what
    // stays). Their removal is not a deletion: nothing may report it as a revoke.
    let unloadingMessages = false;
    const ACK_READ = 3;
    const unloadMessages = ({ keepNewest, ownUnreadSince, ownUnreadMax, minUnload, maxUnload }) => {
        const msgs = collection('Msg');
        const chats = collection('Chat');
        const all = msgs.getModelsArray();
        const newestFirst = all.slice().sort((left, right) => (right.t || 0) - (left.t || 0));
        const recent = new Set(newestFirst.slice(0, keepNewest));
        // These leave their chat's window but stay in Msg: WhatsApp Web applies receipts and
        // decryption to the message it finds there.
        const stayInMsg = new Set(all.filter((msg) => msg.type === 'ciphertext'));
        let ownUnread = 0;
        for (const msg of newestFirst) {
            if (ownUnread >= ownUnreadMax || (msg.t || 0) < ownUnreadSince) {
                break;
            }
            if (msg.id && msg.id.fromMe && (msg.ack || 0) < ACK_READ) {
                stayInMsg.add(msg);
                ownUnread += 1;
            }
        }
        // A chat's window loses only its oldest part, so it stays without a gap: loadEarlierMsgs
        // pages back from the oldest loaded message and would never fill one.
        const leaving = [];
        const inWindows = new Set();
        for (const chat of chats.getModelsArray()) {
            const loaded = chat.msgs ? chat.msgs.getModelsArray() : [];
            loaded.forEach((msg) => inWindows.add(msg));
            if (chat.active || loaded.length === 0) {
                continue;
            }
            // Kept: the recent ones, and back to the newest real message (the chat list's preview).
            let cut = loaded.length - 1;
            let previewKept = !loaded[cut].isNotification;
            while (cut > 0 && (recent.has(loaded[cut - 1]) || !previewKept)) {
                cut -= 1;
                previewKept = previewKept || !loaded[cut].isNotification;
            }
            for (let index = 0; index < cut; index += 1) {
                leaving.push({ msg: loaded[index], chat });
            }
        }
        for (const msg of all) {
            if (!inWindows.has(msg) && !recent.has(msg) && !stayInMsg.has(msg)) {
                leaving.push({ msg, chat: null });
            }
        }
        if (leaving.length === 0 || leaving.length < minUnload) {
            return { unloaded: 0, loaded: all.length, more: false };
        }
        // Oldest first, a bounded number per call: removing from a long collection is not free.
        leaving.sort((left, right) => (left.msg.t || 0) - (right.msg.t || 0));
        const now = leaving.slice(0, maxUnload);
        unloadingMessages = true;
        try {
            for (const { msg, chat } of now) {
                if (chat) {
                    chat.msgs.remove(msg, { silent: true });
                }
                if (!stayInMsg.has(msg)) {
                    msgs.remove(msg, { silent: true });
                }
            }
        } finally {
            unloadingMessages = false;
        }
        return { unloaded: now.length, loaded: msgs.length, more: leaving.length > now.length };
    };

    // Listeners whose modules were not there yet; tried again once WhatsApp Web has synced.
    const retryAfterSync = [];
    const retryListeners = () => {
        for (const [feature, fn] of retryAfterSync.splice(0, retryAfterSync.length)) {
            try {
                fn();
            } catch (error) {
                report(feature, error);
            }
        }
    };

    const attachListeners = () => {
        const attach = (feature, fn) => {
            try {
                fn();
            } catch (error) {
                if (synced) {
                    report(feature, error);
                } else {
                    retryAfterSync.push([feature, fn]);
                }
            }
        };
        attach('state', () => {
            const appState = socket();
            appState.on('change:state', (model, state) => {
                emit('state', { state });
                if (state === 'UNPAIRED') {
                    lastQrRef = null;
                    try {
                        emitQr(conn().ref);
                    } catch (error) {
                        report('qr', error);
                    }
                }
            });
            appState.on('change:hasSynced', () => {
                synced = true;
                retryListeners();
                announceCapabilities();
                emit('synced', { me: safe(meRecord) });
            });
        });
        attach('qr', () => {
            conn().on('change:ref', (model, ref) => {
                let state = null;
                try {
                    state = socket().state;
                } catch (error) {
                    state = null;
                }
                if (state === 'UNPAIRED' || state === 'UNPAIRED_IDLE' || state === null) {
                    emitQr(ref);
                }
            });
        });
        attach('logout', () => {
            const cmd = member('WAWebCmd', 'Cmd');
            let loggedOut = false;
            const onLogout = () => {
                if (!loggedOut) {
                    loggedOut = true;
                    emit('logout', {});
                }
            };
            cmd.on('logout', onLogout);
            cmd.on('logout_from_bridge', onLogout);
            cmd.on('offline_progress_update_from_bridge', onOfflineProgress);
            cmd.on('offline_progress_update', onOfflineProgress);
        });
        attach('messages', () => {
            const msgs = collection('Msg');
            msgs.on('add', onMessageAdded);
            msgs.on('change', (msg) => {
                if (msg && msg.type !== 'revoked' && msg.id) {
                    rememberBeforeRevoke(msg, safe(() => messageRecord(msg)));
                }
            });
            msgs.on('change:ack', (msg, ack) => {
                const record = safe(() => messageRecord(msg));
                if (record) {
                    emit('ack', { message: record, ack });
                }
            });
            msgs.on('change:type', (msg, type) => {
                if (type !== 'revoked') {
                    return;
                }
                const record = safe(() => messageRecord(msg));
                const before = msg.id ? lastSeenBeforeRevoke.get(msg.id.id) : undefined;
                if (record) {
                    emit('revoke_everyone', { message: record, before: before || null });
                }
            });
            // An edit changes the text in place: `body` of a text message, `caption` of media.
            const onEdited = (isCaption) => (msg, newText, previousText) => {
                if (!msg || !msg.id || msg.type === 'revoked' || MEDIA_TYPES.has(msg.type) !== isCaption
                    || typeof newText !== 'string' || newText === previousText) {
                    return;
                }
                const record = safe(() => messageRecord(msg));
                if (record) {
                    emit('message_edit', { message: record, newBody: newText, prevBody: previousText ?? null });
                }
            };
            msgs.on('change:body', onEdited(false));
            msgs.on('change:caption', onEdited(true));
            msgs.on('remove', (msg) => {
                if (msg && msg.isNewMsg && !unloadingMessages) {
                    const record = safe(() => messageRecord(msg));
                    if (record) {
                        emit('revoke_me', { message: record });
                    }
                }
            });
        });
        attach('reactions', () => {
            const table = member('WAWebAddonReactionTableMode', 'reactionTableMode');
            const original = table.bulkUpsert;
            if (typeof original !== 'function') {
                throw changed('WAWebAddonReactionTableMode.reactionTableMode.bulkUpsert');
            }
            table.bulkUpsert = function bulkUpsertWithBridge(rows, ...rest) {
                try {
                    for (const row of rows || []) {
                        emit('reaction', { reaction: reactionRecord(row) });
                    }
                } catch (error) {
                    report('reactions', error);
                }
                return original.call(this, rows, ...rest);
            };
        });
        attach('pollVotes', () => {
            const table = member('WAWebAddonPollVoteTableMode', 'pollVoteTableMode');
            const original = table.bulkUpsert;
            if (typeof original !== 'function') {
                throw changed('WAWebAddonPollVoteTableMode.pollVoteTableMode.bulkUpsert');
            }
            table.bulkUpsert = function bulkUpsertWithBridge(rows, ...rest) {
                // The records may need the poll fetched: built on the side, the table is not held up.
                Promise.all(Array.from(rows || [], pollVoteRecord)).then(
                    (votes) => votes.forEach((vote) => emit('poll_vote', { vote })),
                    (error) => report('pollVotes', error),
                );
                return original.call(this, rows, ...rest);
            };
        });
        attach('calls', () => {
            // Incoming calls are written into the call collection's own Map without an `add`
            // event on today's page (docs/whatsapp-web-surface.md §8.1 C20); older pages fire `add`
            // on WAWebCollections.WAWebCallCollection, and before that on WAWebCollections.Call.
            const callShape = shapeOf('incomingCalls');
            const calls = callShape === 'call-map'
                ? mod('WAWebCallCollection')
                : collection(callShape === 'add-event' ? 'WAWebCallCollection' : 'Call');
            const reported = new Set();
            const onCall = (call) => {
                if (!call || call.id === undefined || reported.has(call.id)) {
                    return;
                }
                reported.add(call.id);
                if (reported.size > 200) {
                    reported.delete(reported.values().next().value);
                }
                const record = safe(() => callRecord(call));
                if (record) {
                    emit('call', { call: record });
                }
            };
            const map = Object.keys(calls).map((key) => calls[key]).find((value) => value instanceof Map);
            if (map) {
                const originalSet = map.set;
                map.set = function setWithBridge(key, value) {
                    const isNew = !this.has(key);
                    const result = originalSet.call(this, key, value);
                    if (isNew) {
                        onCall(value);
                    }
                    return result;
                };
            }
            if (typeof calls.on === 'function') {
                calls.on('add', onCall);
            } else if (!map) {
                throw changed('WAWebCallCollection');
            }
        });
        attach('location', () => {
            // WhatsApp drops a location whose stanza says "media"/"location": answer "text" and no
            // media type, as whatsapp-web.js does (docs/whatsapp-web-surface.md §8.1 C45).
            wrapMember('WAWebE2EProtoUtils', 'typeAttributeFromProtobuf',
                (original) => function typeAttributeWithBridge(proto, ...rest) {
                    return proto && (proto.locationMessage || proto.groupInviteMessage)
                        ? 'text' : original.call(this, proto, ...rest);
                });
            wrapMember('WAWebBackendJobsCommon', 'mediaTypeFromProtobuf',
                (original) => function mediaTypeWithBridge(proto, ...rest) {
                    return proto && proto.locationMessage ? null : original.call(this, proto, ...rest);
                });
        });
    };

    // Replaces a function member of a module by a wrapper around it (once per document).
    const wrapped = new WeakSet();
    const wrapMember = (moduleName, name, wrapper) => {
        const owner = mod(moduleName);
        const original = owner[name];
        if (typeof original !== 'function') {
            throw changed(`${moduleName}.${name}`);
        }
        if (wrapped.has(original)) {
            return;
        }
        const replacement = wrapper(original);
        wrapped.add(replacement);
        owner[name] = replacement;
    };

    const safe = (fn) => {
        try {
            return fn();
        } catch (error) {
            return null;
        }
    };

    // ----------------------------------------------------------------------------------------
    // Capabilities: the call shapes each operation knows, newest first (docs/whatsapp-web-surface.md
    // §8.1). A shape is usable when every member it needs is there; probing only reads members, so
    // it has no side effects. Shapes that only differ in their arguments (loadEarlierMsgs, C21)
    // cannot be told apart by reading: the newest is used.

    const memberAt = (path) => {
        const [moduleName, ...rest] = path.split('.');
        let value = optionalMod(moduleName);
        for (const key of rest) {
            value = value === undefined || value === null ? undefined : value[key];
        }
        return value ?? null;
    };

    const hasOwnMap = (path) => {
        const owner = memberAt(path);
        return Boolean(owner) && Object.keys(owner).some((key) => owner[key] instanceof Map);
    };

    const CAPABILITIES = {
        findChat: [{ shape: 'findOrCreateLatestChat', needs: ['WAWebFindChatAction.findOrCreateLatestChat'] }],
        loadEarlierMessages: [{ shape: 'options-object', needs: ['WAWebChatLoadMessages.loadEarlierMsgs'] }],
        acceptInvite: [
            { shape: 'WAWebGroupInviteJob', needs: ['WAWebGroupInviteJob.joinGroupViaInvite'] },
            { shape: 'WAWebGroupQueryJob', needs: ['WAWebGroupQueryJob.joinGroupViaInvite'] },
        ],
        blockContact: [
            { shape: 'lid-contact', needs: ['WAWebBlockContactAction.blockContact', 'WAWebApiContact.getAlternateUserWid'] },
            {
                shape: 'block-utility',
                needs: ['WAWebBlockContactAction.blockContact', 'WAWebBlockContactUtils.getContactToBlockOnlyUseIfNoAssociatedChat'],
            },
            // Pages before 2026-03 keep phone numbers in the block list: the contact model itself.
            { shape: 'phone-number-list', needs: ['WAWebBlockContactAction.blockContact'] },
        ],
        incomingCalls: [
            { shape: 'call-map', needs: ['WAWebCallCollection'], check: () => hasOwnMap('WAWebCallCollection') },
            { shape: 'add-event', needs: ['WAWebCollections.WAWebCallCollection.on'] },
            // Before 2026-01-29 the collection was WAWebCollections.Call (§9.1).
            { shape: 'call-add-event', needs: ['WAWebCollections.Call.on'] },
        ],
        qrAdvSecretKey: [
            { shape: 'WAWebUserPrefsMultiDevice', needs: ['WAWebUserPrefsMultiDevice.getADVSecretKey'] },
            { shape: 'WAWebAdvSignatureApi', needs: ['WAWebAdvSignatureApi.getADVSecretKey'] },
        ],
        locationHooks: [
            {
                shape: 'protobuf-type-hooks',
                needs: ['WAWebE2EProtoUtils.typeAttributeFromProtobuf', 'WAWebBackendJobsCommon.mediaTypeFromProtobuf'],
            },
        ],
        lidToPhone: [
            { shape: 'WAWebLidMigrationUtils.toPn', needs: ['WAWebLidMigrationUtils.toPn'] },
            { shape: 'WAWebApiContact.getPhoneNumber', needs: ['WAWebApiContact.getPhoneNumber'] },
        ],
    };

    const usable = (candidate) => candidate.needs.every((path) => memberAt(path) !== null)
        && (!candidate.check || candidate.check());

    // operation -> shape in use, or null when the page offers none of the known shapes.
    const probeCapabilities = () => {
        const table = {};
        for (const [name, candidates] of Object.entries(CAPABILITIES)) {
            const found = candidates.find((candidate) => safe(() => usable(candidate)));
            table[name] = found ? found.shape : null;
        }
        return table;
    };

    // The shape an operation uses now; throws "WhatsApp Web changed" naming the newest shape's
    // members when none is there.
    const shapeOf = (name) => {
        const found = CAPABILITIES[name].find((candidate) => safe(() => usable(candidate)));
        if (!found) {
            throw changed(CAPABILITIES[name][0].needs.join(', '));
        }
        return found.shape;
    };

    // Tells Python the table; after the sync, each missing capability once (modules may arrive late).
    const reportedMissing = new Set();
    const announceCapabilities = () => {
        const table = probeCapabilities();
        emit('capabilities', { table });
        if (!synced) {
            return;
        }
        for (const [name, shape] of Object.entries(table)) {
            if (shape === null && !reportedMissing.has(name)) {
                reportedMissing.add(name);
                emit('capability_missing', { feature: name, missing: CAPABILITIES[name][0].needs.join(', ') });
            }
        }
    };

    // ----------------------------------------------------------------------------------------
    // Boot: wait for WhatsApp Web's module system, as its own clients do (Debug.VERSION defined).

    let booted = false;
    const boot = () => {
        if (booted) {
            return;
        }
        if (!window.Debug || window.Debug.VERSION === undefined || typeof window.require !== 'function') {
            setTimeout(boot, 50);
            return;
        }
        try {
            socket();
        } catch (error) {
            // The module system is there but WhatsApp Web has not defined its modules yet.
            setTimeout(boot, 50);
            return;
        }
        booted = true;
        offlineProgress = readOfflineProgress();
        try {
            synced = synced || Boolean(socket().hasSynced);
        } catch (error) {
            synced = false;
        }
        attachListeners();
        const snapshot = stateSnapshot();
        snapshot.synced = synced;
        emit('boot', Object.assign(snapshot, { bridge: BRIDGE_VERSION }));
        announceCapabilities();
        if (snapshot.state === 'UNPAIRED' || snapshot.state === 'UNPAIRED_IDLE') {
            try {
                emitQr(conn().ref);
            } catch (error) {
                report('qr', error);
            }
        }
    };

    // ----------------------------------------------------------------------------------------
    // Lookups shared by operations.

    const findChat = async (chatId) => {
        const chats = collection('Chat');
        const wid = createWid(chatId);
        let chat = chats.get(wid);
        if (!chat) {
            const found = await invoke('WAWebFindChatAction', 'findOrCreateLatestChat', wid);
            chat = found ? found.chat : null;
        }
        if (!chat) {
            throw notFound('chat_not_found', chatId);
        }
        return chat;
    };

    // A chat not in memory is looked up with findOrCreateLatestChat, as whatsapp-web.js does.
    const existingChat = (chatId) => findChat(chatId);

    // The chat of an id and, for a person, the chat under their other id (LID or phone number), as far
    // as WhatsApp Web knows the mapping; when neither is in memory, the chat found or created the way
    // whatsapp-web.js does. Throws chat_not_found when there is none.
    const samePersonChats = async (chatId) => {
        const chats = collection('Chat');
        const wid = createWid(chatId);
        const found = [chats.get(wid)];
        if (wid.server === 'c.us' || wid.server === 'lid') {
            try {
                const other = invoke('WAWebApiContact', wid.server === 'lid' ? 'getPhoneNumber' : 'getCurrentLid', wid);
                if (other) {
                    found.push(chats.get(createWid(widString(other))));
                }
            } catch (error) {
                // No mapping known: the id's own chat is all there is.
            }
        }
        const unique = found.filter((chat, index) => chat && found.indexOf(chat) === index);
        return unique.length ? unique : [await existingChat(chatId)];
    };

    const findInChat = async (chat, keyId, fromMe) => {
        const loaded = chat.msgs ? chat.msgs.getModelsArray() : [];
        const local = loaded.find((msg) => msg.id.id === keyId && (fromMe === undefined || msg.id.fromMe === fromMe));
        if (local) {
            return local;
        }
        const chatId = widString(chat.id);
        const candidates = [];
        const { pnUser, lidUser } = meIds();
        for (const direction of fromMe === false ? [false] : fromMe === true ? [true] : [true, false]) {
            const base = `${direction}_${chatId}_${keyId}`;
            candidates.push(base);
            if (direction && chat.groupMetadata) {
                for (const me of [pnUser, lidUser]) {
                    if (me) {
                        candidates.push(`${base}_${widString(me)}`);
                    }
                }
            }
        }
        for (const candidate of candidates) {
            const msg = await findMessage(candidate).catch(() => null);
            if (msg) {
                return msg;
            }
        }
        return null;
    };

    // A chat whose notifications can be muted, found with findOrCreateLatestChat when not in memory.
    const mutableChat = async (chatId) => {
        const chat = await findChat(chatId);
        if (!chat.mute) {
            throw notFound('chat_not_found', chatId);
        }
        return chat;
    };

    const muteState = (chat) => ({ isMuted: chat.mute.expiration !== 0, muteExpiration: chat.mute.expiration });

    const existingContact = (contactId) => {
        const contact = collection('Contact').get(contactId);
        if (!contact) {
            throw notFound('contact_not_found', contactId);
        }
        return contact;
    };

    const findMessage = async (messageId) => {
        const msgs = collection('Msg');
        let msg = msgs.get(messageId);
        if (!msg) {
            const result = await invoke('WAWebCollections', 'Msg.getMessagesById', [messageId]);
            msg = result && result.messages ? result.messages[0] : null;
        }
        if (!msg) {
            throw notFound('message_not_found', messageId);
        }
        return msg;
    };

    const chatOfMessage = (msg) => findChat(widString(msg.id.remote));

    const groupChat = async (groupId) => {
        const chat = await findChat(groupId).catch((error) => {
            if (error.code === 'chat_not_found') {
                throw notFound('group_not_found', groupId);
            }
            throw error;
        });
        if (!chat.groupMetadata) {
            throw notFound('group_not_found', groupId);
        }
        return chat;
    };

    const queryExists = async (id) => {
        const result = await invoke('WAWebQueryExistsJob', 'queryWidExists', createWid(id));
        return result && result.wid ? result : null;
    };

    const lidToPhone = (wid) => {
        if (!wid || wid.server !== 'lid') {
            return wid;
        }
        try {
            return shapeOf('lidToPhone') === 'WAWebLidMigrationUtils.toPn'
                ? invoke('WAWebLidMigrationUtils', 'toPn', wid) || wid
                : invoke('WAWebApiContact', 'getPhoneNumber', wid) || wid;
        } catch (error) {
            return wid;
        }
    };

    // The LID and phone number of a user id, asking WhatsApp's server (queryWidExists) when the
    // page does not know the pair yet.
    const lidAndPhone = async (id) => {
        const wid = createWid(id);
        const known = () => {
            const other = alternateId(wid);
            return wid.server === 'lid' ? { lid: wid, phone: other } : { lid: other, phone: wid };
        };
        let pair = known();
        if (!pair.lid || !pair.phone) {
            await queryExists(wid).catch(() => null);
            pair = known();
        }
        return pair;
    };

    // ----------------------------------------------------------------------------------------
    // Media transfer: bytes cross in base64 chunks so no single message gets huge.

    const mediaBuffers = new Map();
    let mediaCounter = 0;
    const MEDIA_TTL_MS = 10 * 60 * 1000;

    const storeBuffer = (bytes, info) => {
        mediaCounter += 1;
        const token = `m${mediaCounter}_${Date.now()}`;
        const entry = Object.assign({ bytes, filled: bytes.length, expires: Date.now() + MEDIA_TTL_MS }, info);
        mediaBuffers.set(token, entry);
        return token;
    };

    const takeBuffer = (token) => {
        const entry = mediaBuffers.get(token);
        if (!entry) {
            throw invalid('media', 'the media upload expired or was never started');
        }
        return entry;
    };

    const sweepBuffers = () => {
        const now = Date.now();
        for (const [token, entry] of mediaBuffers) {
            if (entry.expires < now) {
                mediaBuffers.delete(token);
            }
        }
    };

    const base64ToBytes = (text) => {
        const binary = atob(text);
        const bytes = new Uint8Array(binary.length);
        for (let index = 0; index < binary.length; index += 1) {
            bytes[index] = binary.charCodeAt(index);
        }
        return bytes;
    };

    const bytesToBase64 = (bytes) => {
        let binary = '';
        const step = 0x8000;
        for (let index = 0; index < bytes.length; index += step) {
            binary += String.fromCharCode.apply(null, bytes.subarray(index, index + step));
        }
        return btoa(binary);
    };

    const entryToFile = (entry) =>
        new File([entry.bytes], entry.filename || 'file', { type: entry.mimetype || 'application/octet-stream' });

    // WhatsApp Web's media pipeline (docs/whatsapp-web-surface.md §5.4): prepare, store, upload, then
    // the message attrs.
    const prepareMedia = async (entry, flags) => {
        const opaqueModule = mod('WAWebMediaOpaqueData');
        const file = entryToFile(entry);
        const opaque = await invoke('WAWebMediaOpaqueData', 'createFromData', file, file.type);
        const prepared = invoke('WAWebPrepRawMedia', 'prepRawMedia', opaque, {
            asSticker: false,
            asGif: Boolean(flags.asGif),
            isPtt: Boolean(flags.isPtt),
            asDocument: Boolean(flags.asDocument),
        });
        const mediaData = await callMethod(prepared, 'waitForPrep', 'WAWebPrepRawMedia.prepRawMedia().waitForPrep');
        if (!mediaData || !mediaData.filehash) {
            throw failed('WhatsApp Web could not prepare the media');
        }
        const mediaObject = invoke('WAWebMediaStorage', 'getOrCreateMediaObject', mediaData.filehash);
        const mediaType = invoke('WAWebMmsMediaTypes', 'msgToMediaType', {
            type: mediaData.type,
            isGif: mediaData.isGif,
            isNewsletter: false,
        });
        if (mediaData.type === 'ptt') {
            const waveform = mediaObject.contentInfo ? mediaObject.contentInfo.waveform : null;
            mediaData.waveform = waveform || (await computeWaveform(entry.bytes));
        }
        let blob = mediaData.mediaBlob;
        const OpaqueData = opaqueModule;
        const isOpaque = typeof OpaqueData === 'function' && blob instanceof OpaqueData;
        if (!isOpaque) {
            blob = await invoke('WAWebMediaOpaqueData', 'createFromData', blob, blob.type);
        }
        mediaData.renderableUrl = callMethod(blob, 'url', 'WAWebMediaOpaqueData instance url');
        callMethod(mediaObject, 'consolidate', 'mediaObject.consolidate', mediaData.toJSON());
        callMethod(blob, 'autorelease', 'WAWebMediaOpaqueData instance autorelease');
        const useCache = invoke('WAWebMediaDataUtils', 'shouldUseMediaCache',
            invoke('WAWebMmsMediaTypes', 'castToV4', mediaObject.type));
        if (useCache) {
            invoke('WAWebMediaInMemoryBlobCache', 'InMemoryMediaBlobCache.put', mediaData.filehash,
                callMethod(blob, 'formData', 'WAWebMediaOpaqueData instance formData'));
        }
        const upload = await invoke('WAWebMediaMmsV4Upload', 'uploadMedia', {
            mimetype: mediaData.mimetype,
            mediaObject,
            mediaType,
        });
        const mediaEntry = upload ? upload.mediaEntry : null;
        if (!mediaEntry) {
            throw failed('the media upload failed: WhatsApp did not create a media entry');
        }
        mediaData.set({
            clientUrl: mediaEntry.mmsUrl,
            deprecatedMms3Url: mediaEntry.deprecatedMms3Url,
            directPath: mediaEntry.directPath,
            mediaKey: mediaEntry.mediaKey,
            mediaKeyTimestamp: mediaEntry.mediaKeyTimestamp,
            filehash: mediaObject.filehash,
            encFilehash: mediaEntry.encFilehash,
            uploadhash: mediaEntry.uploadHash,
            size: mediaObject.size,
            streamingSidecar: mediaEntry.sidecar,
            firstFrameSidecar: mediaEntry.firstFrameSidecar,
        });
        return mediaData;
    };

    // 64 loudness samples, 0..100, as WhatsApp shows for voice notes.
    const computeWaveform = async (bytes) => {
        try {
            const context = new OfflineAudioContext(1, 1, 8000);
            const audio = await context.decodeAudioData(bytes.slice().buffer);
            const samples = audio.getChannelData(0);
            const block = Math.max(1, Math.floor(samples.length / 64));
            const levels = [];
            for (let index = 0; index < 64; index += 1) {
                let sum = 0;
                for (let offset = 0; offset < block; offset += 1) {
                    sum += Math.abs(samples[index * block + offset] || 0);
                }
                levels.push(sum / block);
            }
            const peak = Math.max(...levels) || 1;
            return Uint8Array.from(levels.map((level) => Math.floor((level / peak) * 100)));
        } catch (error) {
            return new Uint8Array(64);
        }
    };

    const randomMediaKey = () => {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
        const random = crypto.getRandomValues(new Uint8Array(32));
        return Array.from(random, (value) => alphabet[value % alphabet.length]).join('');
    };

    const sha256Base64 = async (bytes) => {
        const digest = await crypto.subtle.digest('SHA-256', bytes);
        return bytesToBase64(new Uint8Array(digest));
    };

    const prepareSticker = async (entry) => {
        if (entry.mimetype !== 'image/webp') {
            throw invalid('media', 'a sticker must be a WebP image');
        }
        const uploaded = await invoke('WAWebUploadManager', 'encryptAndUpload', {
            blob: entryToFile(entry),
            type: 'sticker',
            signal: new AbortController().signal,
            mediaKey: randomMediaKey(),
            uploadQpl: invoke('WAWebStartMediaUploadQpl', 'startMediaUploadQpl', { entryPoint: 'MediaUpload' }),
        });
        return Object.assign({}, uploaded, {
            clientUrl: uploaded.url,
            deprecatedMms3Url: uploaded.url,
            uploadhash: uploaded.encFilehash,
            size: entry.bytes.length,
            type: 'sticker',
            filehash: await sha256Base64(entry.bytes),
            mimetype: 'image/webp',
        });
    };

    // ----------------------------------------------------------------------------------------
    // Sending (docs/whatsapp-web-surface.md §5.3): our own procedure over WhatsApp Web's modules.

    const sendSeen = async (chat) => {
        const stream = member('WAWebStreamModel', 'Stream');
        callMethod(stream, 'markAvailable', 'WAWebStreamModel.Stream.markAvailable');
        try {
            await invoke('WAWebUpdateUnreadChatAction', 'sendSeen', { chat, threadId: undefined });
        } finally {
            callMethod(stream, 'markUnavailable', 'WAWebStreamModel.Stream.markUnavailable');
        }
    };

    const sendMessage = async (args) => {
        const target = String(args.chatId || '');
        if (target === 'status@broadcast' || target.endsWith('@newsletter')) {
            throw invalid('chatId', `sending to ${target} (status updates and channels) is not supported`);
        }
        const chat = await findChat(args.chatId);
        const options = args.options || {};
        if (options.sendSeen) {
            await sendSeen(chat);
        }
        const text = typeof args.text === 'string' ? args.text : '';
        let attrs = {};
        let body = text;
        if (args.media) {
            const entry = takeBuffer(args.media.token);
            if (options.asSticker) {
                attrs = await prepareSticker(entry);
                body = undefined;
            } else {
                const mediaData = await prepareMedia(entry, options);
                attrs = Object.assign({}, mediaData, mediaData.toJSON());
                attrs.caption = text || undefined;
                attrs.isCaptionByUser = Boolean(text);
                body = mediaData.preview;
            }
            if (args.media.filename) {
                attrs.filename = args.media.filename;
            }
            mediaBuffers.delete(args.media.token);
        } else if (args.location) {
            const { latitude, longitude, name, address, url } = args.location;
            attrs = {
                type: 'location',
                loc: [name, address].filter(Boolean).join('\n') || undefined,
                lat: latitude,
                lng: longitude,
                clientUrl: url ? (safe(() => mod('WALinkify').findLink(url)) || {}).href : undefined,
            };
            body = undefined;
        } else if (!text) {
            throw invalid('message', 'a message needs text, media or a location');
        }

        if (options.quotedMessageId) {
            const quoted = await findMessage(options.quotedMessageId).catch(() => null);
            if (!quoted) {
                throw notFound('message_not_found', options.quotedMessageId);
            }
            const replyModule = optionalMod('WAWebMsgReply');
            const canReply = replyModule && typeof replyModule.canReplyMsg === 'function'
                ? replyModule.canReplyMsg(callMethod(quoted, 'unsafe', 'Msg.unsafe'))
                : callMethod(quoted, 'canReply', 'Msg.canReply');
            if (!canReply) {
                throw failed('WhatsApp does not allow replying to that message');
            }
            Object.assign(attrs, callMethod(quoted, 'msgContextInfo', 'Msg.msgContextInfo', chat));
        }

        if (Array.isArray(options.mentions) && options.mentions.length) {
            attrs.mentionedJidList = options.mentions.map((id) => createWid(id));
        }

        if (options.linkPreview && !args.media && !args.location && text) {
            const link = safe(() => mod('WALinkify').findLink(text));
            if (link) {
                const preview = await Promise.resolve(
                    invoke('WAWebLinkPreviewChatAction', 'getLinkPreview', link),
                ).catch(() => null);
                if (preview && preview.data) {
                    Object.assign(attrs, preview.data, { preview: true, subtype: 'url' });
                }
            }
        }

        return addAndSend(chat, attrs, body, options);
    };

    // Adds a message built from `attrs` to the chat and sends it (docs/whatsapp-web-surface.md §5.3):
    // the key, `from` and ephemeral fields as WhatsApp Web's own sends set them. Answers the record.
    const addAndSend = async (chat, attrs, body, options) => {
        const { pnUser, lidUser } = meIds();
        const useLid = (chat.id.isLid && chat.id.isLid())
            || Boolean(chat.groupMetadata && chat.groupMetadata.isLidAddressingMode);
        const from = useLid && lidUser ? lidUser : pnUser || lidUser;
        if (!from) {
            throw new BridgeError('not_connected', 'WhatsApp Web does not know the own account yet');
        }
        const MsgKey = mod('WAWebMsgKey');
        // A caller-chosen id lets an outbox check, after a crash, whether a send already happened.
        const newId = typeof options.messageId === 'string' && /^[0-9A-F]{16,32}$/.test(options.messageId)
            ? options.messageId
            : await invoke('WAWebMsgKey', 'newId');
        const isGroup = chat.id.isGroup && chat.id.isGroup();
        const participant = isGroup ? invoke('WAWebWidFactory', 'asUserWidOrThrow', from) : undefined;
        const key = new MsgKey({ from, to: chat.id, id: newId, participant, selfDir: 'out' });
        const ephemeral = invoke('WAWebGetEphemeralFieldsMsgActionsUtils', 'getEphemeralFields', chat) || {};

        const message = Object.assign(
            {
                id: key,
                ack: 0,
                body,
                from,
                to: chat.id,
                local: true,
                self: 'out',
                t: Math.floor(Date.now() / 1000),
                isNewMsg: true,
                type: 'chat',
            },
            ephemeral,
            attrs,
        );
        delete message.canonicalUrl;
        if (message.body === undefined) {
            delete message.body;
        }
        const [added, sent] = invoke('WAWebSendMsgChatAction', 'addAndSendMsgToChat', chat, message);
        await added;
        if (options.waitUntilSent) {
            await sent;
        }
        const stored = collection('Msg').get(key._serialized);
        return stored ? messageRecord(stored) : null;
    };

    // ----------------------------------------------------------------------------------------
    // Operations, by name. Each takes one JSON object and returns JSON.

    const toUnixSeconds = (value) => (value === null || value === undefined ? -1 : Math.floor(value));

    // The per-participant outcome sits in `addParticipantsParticipantMixins`, wrapped in a union
    // member whose long name WhatsApp Web changes between releases: look one level down for it.
    const participantMixins = (entry) => {
        if (!entry || typeof entry !== 'object') {
            return {};
        }
        if (entry.addParticipantsParticipantMixins) {
            return entry.addParticipantsParticipantMixins.value || {};
        }
        for (const key of Object.keys(entry)) {
            const wrapped = entry[key];
            const mixins = wrapped && wrapped.value && wrapped.value.addParticipantsParticipantMixins;
            if (mixins) {
                return mixins.value || {};
            }
        }
        return {};
    };

    // A LID-addressed group keys its participants by LID: a phone number is looked up by its LID
    // (docs/whatsapp-web-surface.md §8.1 C41).
    const participantModels = async (chat, ids) => {
        const participants = chat.groupMetadata.participants;
        const models = [];
        for (const id of ids) {
            let model = participants.get(id);
            if (!model) {
                const { lid, phone } = await lidAndPhone(id);
                model = (lid && participants.get(lid)) || (phone && participants.get(phone));
            }
            if (!model) {
                throw invalid('participants', `${id} is not a participant of the group`);
            }
            models.push(model);
        }
        return models;
    };

    const operations = {
        me: () => meRecord(),

        capabilities: () => probeCapabilities(),

        requestPairingCode: async ({ phoneNumber }) => {
            const api = mod('WAWebAltDeviceLinkingApi');
            callMethod(api, 'setPairingType', 'WAWebAltDeviceLinkingApi.setPairingType', 'ALT_DEVICE_LINKING');
            await callMethod(api, 'initializeAltDeviceLinking', 'WAWebAltDeviceLinkingApi.initializeAltDeviceLinking');
            const code = await callMethod(api, 'startAltLinkingFlow', 'WAWebAltDeviceLinkingApi.startAltLinkingFlow', phoneNumber, true);
            return { code };
        },

        logout: async () => {
            await invoke('WAWebSocketModel', 'Socket.logout');
            return true;
        },

        takeover: async () => {
            await invoke('WAWebSocketModel', 'Socket.takeover');
            return true;
        },

        unloadMessages: ({ keepNewest, ownUnreadSince, ownUnreadMax, minUnload, maxUnload }) => {
            const counts = { keepNewest, ownUnreadSince, ownUnreadMax, minUnload, maxUnload };
            for (const [field, value] of Object.entries(counts)) {
                if (!Number.isInteger(value) || value < 0) {
                    throw invalid(field, 'must be a whole number, 0 or more');
                }
            }
            return unloadMessages(counts);
        },

        // Messages at or after a timestamp across every loaded chat, oldest first: the catch-up after
        // a restart, so that nothing that arrived while the client was away is missed.
        messagesSince: ({ since, limit }) => {
            const found = [];
            for (const chat of collection('Chat').getModelsArray()) {
                if (!chat.msgs) {
                    continue;
                }
                const loaded = chat.msgs.getModelsArray();
                for (let index = loaded.length - 1; index >= 0; index -= 1) {
                    const msg = loaded[index];
                    if ((msg.t || 0) < since) {
                        break;
                    }
                    found.push(msg);
                }
            }
            found.sort((left, right) => (left.t || 0) - (right.t || 0));
            return new RecordList(found.slice(0, limit || 1000), (msg) => {
                const message = messageRecord(msg);
                return message && {
                    message,
                    kind: msg.type === 'gp2' ? 'group_notification' : 'message',
                    offline: !liveMessageIds.has(msg.id._serialized),
                    senderAlternateId: senderAlternateId(msg),
                };
            });
        },

        getChats: () => new RecordList(collection('Chat').getModelsArray(), chatRecord),

        getChat: async ({ chatId }) => chatRecord(await findChat(chatId)),

        deleteChat: async ({ chatId }) => {
            await invoke('WAWebDeleteChatAction', 'sendDelete', await existingChat(chatId));
            return true;
        },

        archiveChat: async ({ chatId, archive }) => {
            await invoke('WAWebCmd', 'Cmd.archiveChat', await existingChat(chatId), Boolean(archive));
            return true;
        },

        pinChat: async ({ chatId, pin }) => {
            const chat = await existingChat(chatId);
            if (Boolean(chat.pin) === Boolean(pin)) {
                return Boolean(chat.pin);
            }
            if (pin) {
                const ordered = collection('Chat').getModelsArray();
                if (ordered.length > 3 && ordered[2] && ordered[2].pin) {
                    throw failed('WhatsApp allows at most 3 pinned chats');
                }
            }
            await invoke('WAWebCmd', 'Cmd.pinChat', chat, Boolean(pin));
            return Boolean(pin);
        },

        markChatRead: async ({ chatId }) => {
            await sendSeen(await existingChat(chatId));
            return true;
        },

        markChatUnread: async ({ chatId }) => {
            await invoke('WAWebCmd', 'Cmd.markChatUnread', await existingChat(chatId), true);
            return true;
        },

        chatState: async ({ chatId, state }) => {
            const wid = createWid(chatId);
            await existingChat(chatId);
            const name = { composing: 'sendChatStateComposing', recording: 'sendChatStateRecording', paused: 'sendChatStatePaused' }[state];
            if (!name) {
                throw invalid('state', 'expected composing, recording or paused');
            }
            await invoke('WAWebChatStateBridge', name, wid);
            return true;
        },

        muteChat: async ({ chatId, until }) => {
            const chat = await mutableChat(chatId);
            await callMethod(chat.mute, 'mute', 'Chat.mute.mute', { expiration: toUnixSeconds(until), sendDevice: true });
            return muteState(chat);
        },

        unmuteChat: async ({ chatId }) => {
            const chat = await mutableChat(chatId);
            await callMethod(chat.mute, 'unmute', 'Chat.mute.unmute', { sendDevice: true });
            return muteState(chat);
        },

        clearChatMessages: async ({ chatId }) => {
            await invoke('WAWebChatClearBridge', 'sendClear', await existingChat(chatId), false);
            return true;
        },

        isRegisteredUser: async ({ id }) => {
            const result = await queryExists(id);
            return { registered: Boolean(result), id: result ? widString(result.wid) : null };
        },

        // Newest first. `before` pages back from a message id; older messages are loaded on demand.
        getMessages: async ({ chatId, limit, before, fromMe }) => {
            const chat = await existingChat(chatId);
            const wanted = Math.max(1, Math.min(limit || 50, 1000));
            const keep = (msg) => !msg.isNotification && (fromMe === undefined || fromMe === null || msg.id.fromMe === fromMe);
            const window_ = () => {
                const all = chat.msgs.getModelsArray().slice().sort((left, right) => (left.t || 0) - (right.t || 0));
                let end = all.length;
                if (before) {
                    end = all.findIndex((msg) => msg.id._serialized === before);
                    if (end < 0) {
                        return null;
                    }
                }
                return all.slice(0, end).filter(keep);
            };
            let candidates = window_();
            if (candidates === null) {
                // Not loaded (any more): when it is this chat's, it is older than all that are.
                const known = await findMessage(before).catch(() => null);
                if (!known || widString(known.id.remote) !== widString(chat.id)) {
                    throw notFound('message_not_found', before);
                }
            }
            while (candidates === null || candidates.length < wanted) {
                // One options object: the positional (chat, msgs) form throws on today's page
                // (docs/whatsapp-web-surface.md §8.1 C21).
                const earlier = await invoke('WAWebChatLoadMessages', 'loadEarlierMsgs', { chat, msgCollection: chat.msgs });
                if (!earlier || earlier.length === 0) {
                    break;
                }
                candidates = window_();
            }
            if (candidates === null) {
                throw notFound('message_not_found', before);
            }
            return new RecordList(candidates.slice(-wanted).reverse(), messageRecord);
        },

        getMessage: async ({ messageId }) => messageRecord(await findMessage(messageId)),

        // A message of this chat by its short id (the part after the chat in a serialized id). A person
        // may have a chat under the phone number and another under the LID: both are searched.
        findMessageByKeyId: async ({ chatId, keyId, fromMe }) => {
            for (const chat of await samePersonChats(chatId)) {
                const found = await findInChat(chat, keyId, fromMe);
                if (found) {
                    return messageRecord(found);
                }
            }
            return null;
        },

        sendMessage,

        deleteMessage: async ({ messageId, everyone }) => {
            const msg = await findMessage(messageId);
            const chat = await chatOfMessage(msg);
            const capability = mod('WAWebMsgActionCapability');
            const canRevoke = Boolean(
                callMethod(capability, 'canSenderRevokeMsg', 'WAWebMsgActionCapability.canSenderRevokeMsg', msg)
                || callMethod(capability, 'canAdminRevokeMsg', 'WAWebMsgActionCapability.canAdminRevokeMsg', msg),
            );
            if (everyone) {
                if (!canRevoke) {
                    throw failed('this message can no longer be deleted for everyone');
                }
                await invoke('WAWebCmd', 'Cmd.sendRevokeMsgs', chat, { list: [msg], type: 'message' }, { clearMedia: true });
            } else {
                await invoke('WAWebCmd', 'Cmd.sendDeleteMsgs', chat, { list: [msg], type: 'message' }, true);
            }
            return true;
        },

        starMessage: async ({ messageId, star }) => {
            const msg = await findMessage(messageId);
            if (!invoke('WAWebMsgActionCapability', 'canStarMsg', msg)) {
                throw failed('WhatsApp does not allow starring this message');
            }
            const chat = await chatOfMessage(msg);
            await invoke('WAWebCmd', star ? 'Cmd.sendStarMsgs' : 'Cmd.sendUnstarMsgs', chat, [msg], false);
            return true;
        },

        reactMessage: async ({ messageId, emoji }) => {
            const msg = await findMessage(messageId);
            await invoke('WAWebSendReactionMsgAction', 'sendReactionToMsg', msg, emoji);
            return true;
        },

        // A poll as whatsapp-web.js builds one (docs/whatsapp-web-surface.md §5.3): options numbered
        // from 0, one answer unless several are allowed (0 = any number).
        sendPoll: async ({ chatId, question, options, allowMultipleAnswers }) => {
            const chat = await findChat(chatId);
            const attrs = {
                kind: 'pollCreation',
                type: 'poll_creation',
                pollName: question,
                pollOptions: options.map((name, localId) => ({ name, localId })),
                pollSelectableOptionsCount: allowMultipleAnswers ? 0 : 1,
                messageSecret: crypto.getRandomValues(new Uint8Array(32)),
            };
            return addAndSend(chat, attrs, undefined, {});
        },

        // Contact cards from contacts WhatsApp Web knows or finds (Contact.find with a Wid, §8.1 C37).
        sendContactCards: async ({ chatId, contactIds }) => {
            const chat = await findChat(chatId);
            const contacts = collection('Contact');
            const found = [];
            for (const id of contactIds) {
                const wid = createWid(id);
                const contact = contacts.get(wid) || (await callMethod(contacts, 'find', 'WAWebCollections.Contact.find', wid));
                if (!contact || !contact.id) {
                    throw notFound('contact_not_found', id);
                }
                found.push({ contact, card: invoke('WAWebFrontendVcardUtils', 'vcardFromContactModel', contact) });
            }
            const attrs = found.length === 1
                ? { type: 'vcard', body: found[0].card.vcard, vcardFormattedName: found[0].contact.formattedName }
                : { type: 'multi_vcard', vcardList: found.map((item) => item.card), body: null };
            return addAndSend(chat, attrs, attrs.body, {});
        },

        editMessage: async ({ messageId, text }) => {
            const msg = await findMessage(messageId);
            const capability = mod('WAWebMsgActionCapability');
            const canEdit = callMethod(capability, 'canEditText', 'WAWebMsgActionCapability.canEditText', msg)
                || callMethod(capability, 'canEditCaption', 'WAWebMsgActionCapability.canEditCaption', msg);
            if (!canEdit) {
                throw failed('WhatsApp does not allow editing this message (only your own text or caption, for 15 minutes)');
            }
            await invoke('WAWebSendMessageEditAction', 'sendMessageEdit', msg, text, {});
            return messageRecord(collection('Msg').get(msg.id._serialized) || msg);
        },

        // One options object (docs/whatsapp-web-surface.md §8.1 C7).
        forwardMessage: async ({ messageId, chatId }) => {
            const msg = await findMessage(messageId);
            const chat = await findChat(chatId);
            await invoke('WAWebChatForwardMessage', 'forwardMessages', {
                chat, msgs: [msg], multicast: true, includeCaption: true, appendedText: undefined,
            });
            return true;
        },

        searchMessages: async ({ query, chatId, limit }) => {
            const result = await invoke('WAWebCollections', 'Msg.search', query, undefined, limit, chatId || undefined);
            const found = result && Array.isArray(result.messages) ? result.messages : [];
            return new RecordList(found.slice(0, limit), messageRecord);
        },

        // The picture's URL, or null when there is none: WhatsApp's server answers that with an
        // error named ServerStatusCodeError (docs/whatsapp-web-surface.md §8.1 C32).
        profilePictureUrl: async ({ contactId }) => {
            const chat = await findChat(contactId);
            try {
                const result = await invoke('WAWebContactProfilePicThumbBridge', 'requestProfilePicFromServer', chat);
                return { url: result && result.eurl ? String(result.eurl) : null };
            } catch (error) {
                if (error && error.name === 'ServerStatusCodeError') {
                    return { url: null };
                }
                throw error;
            }
        },

        downloadMedia: async ({ messageId }) => {
            const msg = await findMessage(messageId);
            if (!msg.directPath || !msg.mediaData) {
                throw notFound('media_not_found', messageId);
            }
            if (msg.mediaData.mediaStage === 'REUPLOADING') {
                throw failed('WhatsApp is uploading this media again; try later');
            }
            if (msg.mediaData.mediaStage !== 'RESOLVED') {
                await callMethod(msg, 'downloadMedia', 'Msg.downloadMedia', { downloadEvenIfExpensive: true, rmrReason: 1 });
            }
            const stage = String(msg.mediaData.mediaStage || '');
            if (stage.includes('ERROR') || stage === 'FETCHING') {
                throw notFound('media_not_found', messageId);
            }
            const chain = { addAnnotations: () => chain, addPoint: () => chain };
            let buffer;
            try {
                buffer = await invoke('WAWebDownloadManager', 'downloadManager.downloadAndMaybeDecrypt', {
                    directPath: msg.directPath,
                    encFilehash: msg.encFilehash,
                    filehash: msg.filehash,
                    mediaKey: msg.mediaKey,
                    mediaKeyTimestamp: msg.mediaKeyTimestamp,
                    type: msg.type,
                    signal: new AbortController().signal,
                    downloadQpl: chain,
                });
            } catch (error) {
                if (error && error.status === 404) {
                    throw notFound('media_not_found', messageId);
                }
                throw error;
            }
            const bytes = new Uint8Array(buffer);
            sweepBuffers();
            const token = storeBuffer(bytes, { mimetype: msg.mimetype, filename: msg.filename });
            return { token, size: bytes.length, mimetype: msg.mimetype || null, filename: msg.filename || null };
        },

        mediaBegin: ({ size, mimetype, filename }) => {
            if (!Number.isInteger(size) || size < 0) {
                throw invalid('media', 'bad media size');
            }
            sweepBuffers();
            const token = storeBuffer(new Uint8Array(size), { mimetype, filename });
            mediaBuffers.get(token).filled = 0;
            return { token };
        },

        mediaWrite: ({ token, offset, data }) => {
            const entry = takeBuffer(token);
            const chunk = base64ToBytes(data);
            if (offset !== entry.filled || offset + chunk.length > entry.bytes.length) {
                throw invalid('media', 'media chunks arrived out of order');
            }
            entry.bytes.set(chunk, offset);
            entry.filled += chunk.length;
            return { filled: entry.filled };
        },

        mediaRead: ({ token, offset, length }) => {
            const entry = takeBuffer(token);
            return { data: bytesToBase64(entry.bytes.subarray(offset, offset + length)) };
        },

        mediaRelease: ({ token }) => {
            mediaBuffers.delete(token);
            return true;
        },

        toWebpSticker: async ({ token }) => {
            const entry = takeBuffer(token);
            const blob = await invoke('WAWebImageUtils', 'toWebpSticker', entryToFile(entry));
            const bytes = new Uint8Array(await blob.arrayBuffer());
            mediaBuffers.delete(token);
            return { token: storeBuffer(bytes, { mimetype: 'image/webp', filename: entry.filename }), size: bytes.length };
        },

        // Groups (docs/whatsapp-web-surface.md §5.5).

        createGroup: async ({ title, participants }) => {
            const found = [];
            const missing = {};
            for (const id of participants) {
                const exists = await queryExists(id);
                if (exists) {
                    found.push({ phoneNumber: createWid(id) });
                } else {
                    missing[id] = { statusCode: 404, message: 'The participant is not registered on WhatsApp' };
                }
            }
            const result = await invoke('WAWebGroupCreateJob', 'createGroup', {
                addressingModeOverride: 'lid',
                memberAddMode: false,
                membershipApprovalMode: false,
                announce: false,
                restrict: false,
                ephemeralDuration: 0,
                parentGroupId: undefined,
                title,
            }, found);
            const outcome = {};
            for (const participant of result.participants || []) {
                const wid = lidToPhone(participant.wid);
                outcome[widString(wid)] = {
                    statusCode: Number(participant.error || 200),
                    message: participant.error ? 'The participant could not be added' : 'The participant was added to the group',
                    isGroupCreator: participant.type === 'superadmin',
                    isInviteV4Sent: false,
                };
            }
            return { title: result.subject || title, gid: widToPlain(result.wid), participants: Object.assign(outcome, missing) };
        },

        getGroup: async ({ groupId }) => {
            const chat = await groupChat(groupId);
            const metadataCollection = optionalMod('WAWebCollections')?.GroupMetadata
                || optionalMod('WAWebGroupMetadataCollection');
            if (metadataCollection && typeof metadataCollection.update === 'function') {
                await metadataCollection.update(createWid(groupId));
            }
            return chatRecord(chat);
        },

        setGroupSubject: async ({ groupId, subject }) => {
            await groupChat(groupId);
            await invoke('WAWebGroupModifyInfoJob', 'setGroupSubject', createWid(groupId), subject);
            return true;
        },

        setGroupDescription: async ({ groupId, description }) => {
            const chat = await groupChat(groupId);
            const descId = await invoke('WAWebMsgKey', 'newId');
            await invoke('WAWebGroupModifyInfoJob', 'setGroupDescription', createWid(groupId), description, descId, chat.groupMetadata.descId);
            return true;
        },

        leaveGroup: async ({ groupId }) => {
            await invoke('WAWebExitGroupAction', 'sendExitGroup', await groupChat(groupId));
            return true;
        },

        getInviteCode: async ({ groupId }) => {
            await groupChat(groupId);
            const result = await invoke('WAWebMexFetchGroupInviteCodeJob', 'fetchMexGroupInviteCode', groupId);
            const code = typeof result === 'string' ? result : result && result.code;
            if (!code) {
                throw failed('WhatsApp did not give an invite code (is the account an admin?)');
            }
            return { code };
        },

        revokeInviteCode: async ({ groupId }) => {
            await groupChat(groupId);
            const result = await invoke('WAWebGroupQueryJob', 'resetGroupInviteCode', createWid(groupId));
            return { code: result && result.code ? result.code : null };
        },

        acceptInvite: async ({ code }) => {
            // joinGroupViaInvite moved to WAWebGroupInviteJob (docs/whatsapp-web-surface.md
            // §8.1 C35); older pages have it in WAWebGroupQueryJob.
            const result = await invoke(shapeOf('acceptInvite'), 'joinGroupViaInvite', code);
            if (!result || !result.gid) {
                throw failed('WhatsApp refused the invite code');
            }
            return { gid: widString(result.gid) };
        },

        addParticipants: async ({ groupId, participants }) => {
            const chat = await groupChat(groupId);
            await invoke('WAWebGroupQueryJob', 'queryAndUpdateGroupMetadataById', { id: groupId });
            if (!callMethod(chat, 'iAmAdmin', 'Chat.iAmAdmin')) {
                throw failed('only group admins can add participants');
            }
            const current = new Set(
                (toPlain(chat.groupMetadata.participants.serialize()) || []).map((item) => widString(item.id)),
            );
            const result = {};
            for (const id of participants) {
                if (current.has(id)) {
                    result[id] = { code: 409, message: 'The participant is already a group member', isInviteV4Sent: false };
                    continue;
                }
                const exists = await queryExists(id);
                if (!exists) {
                    result[id] = { code: 404, message: 'The participant is not registered on WhatsApp', isInviteV4Sent: false };
                    continue;
                }
                const response = await invoke('WASmaxGroupsAddParticipantsRPC', 'sendAddParticipantsRPC', {
                    participantArgs: [{ participantJid: invoke('WAWebWidToJid', 'widToUserJid', exists.wid) }],
                    iqTo: invoke('WAWebWidToJid', 'widToGroupJid', createWid(groupId)),
                });
                const entry = response && response.value && response.value.addParticipant
                    ? response.value.addParticipant[0] : null;
                const mixins = participantMixins(entry);
                const code = response && response.name === 'AddParticipantsResponseSuccess'
                    ? Number(mixins.error || 200) : Number(mixins.error || 400);
                result[id] = {
                    code,
                    message: code === 200 ? 'The participant was added to the group' : 'The participant could not be added',
                    isInviteV4Sent: false,
                };
            }
            return result;
        },

        changeParticipants: async ({ groupId, participants, action }) => {
            const chat = await groupChat(groupId);
            const name = { remove: 'removeParticipants', promote: 'promoteParticipants', demote: 'demoteParticipants' }[action];
            if (!name) {
                throw invalid('action', 'expected remove, promote or demote');
            }
            await invoke('WAWebModifyParticipantsGroupAction', name, chat, await participantModels(chat, participants));
            return { status: 200 };
        },

        // Contacts (docs/whatsapp-web-surface.md §5.6).

        getContacts: () => new RecordList(collection('Contact').getModelsArray(), contactRecord),

        getContact: async ({ contactId }) => {
            const contacts = collection('Contact');
            const contact = contacts.get(contactId) || (await contacts.find(createWid(contactId)));
            if (!contact || !contact.id) {
                throw notFound('contact_not_found', contactId);
            }
            return contactRecord(contact);
        },

        // The block list holds LIDs (docs/whatsapp-web-surface.md §8.1 C33). Newest first: block the
        // contact's LID (asking WhatsApp's server for it when the page does not know it); where no
        // LID is known, WhatsApp Web's own utility resolves the contact.
        blockContact: async ({ contactId, block }) => {
            const contacts = collection('Contact');
            const wid = createWid(contactId);
            const found = contacts.get(wid) || (await callMethod(contacts, 'find', 'WAWebCollections.Contact.find', wid));
            if (!found || !found.id) {
                throw notFound('contact_not_found', contactId);
            }
            const shape = shapeOf('blockContact');
            const { lid } = shape === 'lid-contact' ? await lidAndPhone(widString(found.id)) : {};
            let contact = found;
            if (lid) {
                contact = block
                    ? { id: lid, isContactBlocked: false, phoneNumber: null }
                    : contacts.get(lid) || (await contacts.find(lid));
            } else if (CAPABILITIES.blockContact[1].needs.every((path) => memberAt(path) !== null)) {
                contact = invoke('WAWebBlockContactUtils', 'getContactToBlockOnlyUseIfNoAssociatedChat', found, 'ChatListBlock') || found;
            }
            if (block) {
                await invoke('WAWebBlockContactAction', 'blockContact', { contact, blockEntryPoint: 'ChatListBlock' });
            } else {
                await invoke('WAWebBlockContactAction', 'unblockContact', contact, 'ChatListBlock');
            }
            return true;
        },

        getCommonGroups: async ({ contactId }) => {
            const contact = existingContact(contactId);
            if (!contact.commonGroups) {
                await invoke('WAWebFindCommonGroupsContactAction', 'findCommonGroups', contact);
            }
            const groups = contact.commonGroups ? toPlain(contact.commonGroups.serialize()) : [];
            return (groups || []).map((group) => widToPlain(group.id));
        },

        // The own account.

        setPresence: async ({ available }) => {
            await invoke('WAWebPresenceChatAction', available ? 'sendPresenceAvailable' : 'sendPresenceUnavailable');
            return true;
        },

        setDisplayName: async ({ name }) => {
            if (!callMethod(conn(), 'canSetMyPushname', 'WAWebConnModel.Conn.canSetMyPushname')) {
                throw failed('WhatsApp does not allow changing the display name now');
            }
            await invoke('WAWebSetPushnameConnAction', 'setPushname', name);
            return true;
        },

        setTextStatus: async ({ status }) => {
            await invoke('WAWebContactStatusBridge', 'setMyStatus', status);
            return true;
        },
    };

    const errorToPlain = (error) => {
        if (error instanceof BridgeError) {
            return Object.assign({ code: error.code, message: error.message }, error.extra);
        }
        const message = error && error.message ? String(error.message) : String(error);
        const name = error && error.name ? String(error.name) : 'Error';
        return { code: 'page_error', message, name };
    };

    const settle = (produce) => {
        try {
            return { ok: true, result: produce() };
        } catch (error) {
            return { ok: false, error: errorToPlain(error) };
        }
    };

    // {ok: true, result} with a RecordList left as it is, or {ok: false, error}.
    const answerOf = async (op, args) => {
        const operation = Object.prototype.hasOwnProperty.call(operations, op) ? operations[op] : null;
        if (!operation) {
            return { ok: false, error: { code: 'unknown_operation', message: `unknown operation ${op}` } };
        }
        if (!booted) {
            return { ok: false, error: { code: 'not_ready', message: 'WhatsApp Web has not started yet' } };
        }
        try {
            const result = await operation(args || {});
            return { ok: true, result: result instanceof RecordList ? result : toPlain(result) ?? null };
        } catch (error) {
            return { ok: false, error: errorToPlain(error) };
        }
    };

    const call = async (op, args) => {
        const answer = await answerOf(op, args);
        return answer.ok && answer.result instanceof RecordList ? settle(() => answer.result.records()) : answer;
    };

    // A long answer crosses in parts that Python fetches several at a time: one DevTools message of
    // 5 MB costs the browser about three times what 20 messages of 256 KiB cost together.
    const ANSWER_PART_LENGTH = 256 * 1024;
    const RECORDS_PER_PART = 250;
    const ANSWER_KEPT_MS = 60 * 1000;
    const waitingAnswers = new Map();
    // Handles of one document never name an answer of another (a reload between an answer and
    // its parts must not hand over a newer answer's parts).
    const answerDocument = `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}`;
    let answerHandles = 0;

    // Keeps an answer of `count` parts; partAt(index) gives the JSON text of one.
    const holdAnswer = (count, partAt, records) => {
        answerHandles += 1;
        const handle = `${answerDocument}.${answerHandles}`;
        // Python asks for every part at once; the timer only frees an answer whose caller went away.
        const timer = setTimeout(() => waitingAnswers.delete(handle), ANSWER_KEPT_MS);
        waitingAnswers.set(handle, { count, partAt, taken: new Set(), timer });
        return { handle, parts: count, records };
    };

    const textParts = (text) => {
        const parts = [];
        for (let start = 0; start < text.length;) {
            let end = Math.min(start + ANSWER_PART_LENGTH, text.length);
            const last = text.charCodeAt(end - 1);
            if (end < text.length && last >= 0xd800 && last <= 0xdbff) {
                // JSON.stringify escapes lone surrogates, so this is the first half of a pair: keep it whole.
                end -= 1;
            }
            parts.push(text.slice(start, end));
            start = end;
        }
        return parts;
    };

    // A part of a long list crosses packed: a record is the array of its values, ending with the
    // index of its shape (its keys, and how each value is packed) in the part's table of shapes.
    // Keys were half the characters of a chat list, ids ({server, user, _serialized}, MsgKeys) a
    // fifth and `false` a tenth, and every character costs in JSON.stringify, on the DevTools wire,
    // in Playwright's driver and in Python's parser. An id goes as its index in the part's table of
    // ids (a chat's id is also its last message's remote and from). page_json.unpack_records
    // rebuilds exactly what JSON.parse of the records would give: a value is packed only when it
    // can be rebuilt from what is sent.
    const PACKED_AS_IS = 0;
    const PACKED_WID = 1;
    const PACKED_MSG_KEY = 2;
    const PACKED_RECORD = 3;
    const PACKED_BOOLEAN = 4;

    // Whether the keys of `value` that JSON keeps are exactly `names`, in that order.
    const hasExactKeys = (value, names) => {
        let matched = 0;
        for (const key of Object.keys(value)) {
            if (value[key] === undefined) {
                continue;
            }
            if (key !== names[matched]) {
                return false;
            }
            matched += 1;
        }
        return matched === names.length;
    };

    const WID_KEYS = ['server', 'user', '_serialized'];
    const MSG_KEY_KEYS = ['fromMe', 'remote', 'id', '_serialized'];

    // {server, user, _serialized} as its _serialized alone, when user@server is all it holds.
    const isPackableWid = (value) => typeof value.user === 'string'
        && typeof value.server === 'string'
        && !value.user.includes('@')
        && value._serialized === `${value.user}@${value.server}`
        && hasExactKeys(value, WID_KEYS);

    // A MsgKey without a participant as [fromMe, remote, id], when _serialized is made of them.
    const isPackableMsgKey = (value) => typeof value.fromMe === 'boolean'
        && typeof value.remote === 'string'
        && typeof value.id === 'string'
        && value._serialized === `${value.fromMe}_${value.remote}_${value.id}`
        && hasExactKeys(value, MSG_KEY_KEYS);

    // What one part packs into: its shapes, a tree of keys with one branch per key and kind (finding
    // a record's shape costs a lookup per key, mostly the one-entry cache of a branch, and builds no
    // string), and its ids.
    const newPacking = () => ({ shapes: [], root: shapeNode([], []), ids: [], idIndex: new Map() });

    const shapeNode = (keys, kinds) => ({ keys, kinds, index: -1, lastKey: null, lastBranch: null, branches: new Map() });

    const nextShapeNode = (node, key, kind) => {
        let branch = node.lastBranch;
        if (node.lastKey !== key) {
            branch = node.branches.get(key);
            if (branch === undefined) {
                branch = [null, null, null, null, null];
                node.branches.set(key, branch);
            }
            node.lastKey = key;
            node.lastBranch = branch;
        }
        if (branch[kind] === null) {
            branch[kind] = shapeNode(node.keys.concat([key]), node.kinds.concat([kind]));
        }
        return branch[kind];
    };

    const idIndex = (packing, id) => {
        let index = packing.idIndex.get(id);
        if (index === undefined) {
            index = packing.ids.length;
            packing.ids.push(id);
            packing.idIndex.set(id, index);
        }
        return index;
    };

    // One record (or an object in it) packed; arrays, strings, numbers and null go as they are.
    const packRecord = (record, packing) => {
        const row = [];
        let node = packing.root;
        for (const key of Object.keys(record)) {
            let value = record[key];
            if (value === undefined) {
                continue;
            }
            let kind = PACKED_AS_IS;
            if (typeof value === 'boolean') {
                kind = PACKED_BOOLEAN;
                value = value ? 1 : 0;
            } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
                if (typeof value._serialized === 'string' && isPackableWid(value)) {
                    kind = PACKED_WID;
                    value = idIndex(packing, value._serialized);
                } else if (typeof value._serialized === 'string' && isPackableMsgKey(value)) {
                    kind = PACKED_MSG_KEY;
                    value = [value.fromMe ? 1 : 0, idIndex(packing, value.remote), value.id];
                } else {
                    kind = PACKED_RECORD;
                    value = packRecord(value, packing);
                }
            }
            row.push(value);
            node = nextShapeNode(node, key, kind);
        }
        if (node.index < 0) {
            node.index = packing.shapes.length;
            packing.shapes.push([node.keys, node.kinds]);
        }
        row.push(node.index);
        return row;
    };

    // {shapes, ids, rows} for a list of objects; any other list as it is.
    const packRecords = (records) => {
        if (!records.every((record) => record !== null && typeof record === 'object' && !Array.isArray(record))) {
            return records;
        }
        const packing = newPacking();
        const rows = records.map((record) => packRecord(record, packing));
        return { shapes: packing.shapes, ids: packing.ids, rows };
    };

    // One JSON text, or {handle, parts, records}: a long list comes as parts that are each a JSON
    // answer of up to RECORDS_PER_PART records, packed (see packRecord) and built when asked for;
    // any other long answer as slices of one JSON text.
    const callEncoded = async (op, args) => {
        const answer = await answerOf(op, args);
        if (answer.ok && answer.result instanceof RecordList) {
            const list = answer.result;
            if (list.items.length <= RECORDS_PER_PART) {
                return JSON.stringify(settle(() => list.records()));
            }
            const recordsOfPart = (index) => {
                const start = index * RECORDS_PER_PART;
                return JSON.stringify(settle(() => packRecords(list.records(start, start + RECORDS_PER_PART))));
            };
            return holdAnswer(Math.ceil(list.items.length / RECORDS_PER_PART), recordsOfPart, true);
        }
        const text = JSON.stringify(answer);
        if (text.length <= ANSWER_PART_LENGTH) {
            return text;
        }
        const parts = textParts(text);
        return holdAnswer(parts.length, (index) => parts[index], false);
    };

    // A part is handed over once; null for an unknown answer or part.
    const answerPart = (handle, index) => {
        const waiting = waitingAnswers.get(handle);
        if (!waiting || !Number.isInteger(index) || index < 0 || index >= waiting.count || waiting.taken.has(index)) {
            return null;
        }
        waiting.taken.add(index);
        if (waiting.taken.size === waiting.count) {
            clearTimeout(waiting.timer);
            waitingAnswers.delete(handle);
        }
        return waiting.partAt(index);
    };

    const bridge = Object.freeze({
        version: BRIDGE_VERSION,
        call,
        callEncoded,
        answerPart,
    });
    Object.defineProperty(globalThis, BRIDGE_GLOBAL, { value: bridge, enumerable: false });

    boot();
})();
