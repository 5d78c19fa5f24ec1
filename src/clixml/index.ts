/** CLIXML (MS-PSRP 2.2.5): the public surface of the serializer and deserializer. */
export { deserializeClixml, deserializeObject } from './deserializer.js';
export type { DeserializeOptions } from './deserializer.js';
export { serializeClixml, serializeObject } from './serializer.js';
export type { SerializeOptions } from './serializer.js';
export { PS_META, createPSObject, psEnum, psList, psMeta } from './ps-object.js';
export type { ContainerKind, CreatePSObjectOptions, PSObjectMeta } from './ps-object.js';
export { PSDateTime } from './codecs/date-time.js';
export { PSDecimal } from './codecs/decimal.js';
export { PSDuration } from './codecs/duration.js';
export { PSSecureString } from './codecs/secure-string.js';
export type { SecureStringCipher } from './codecs/secure-string.js';
export { PSEnumValue } from './enum-value.js';
export { PSTypedValue, ps } from './typed-value.js';
export type { PrimitiveTag } from './typed-value.js';
export { decodeClixmlString, encodeClixmlString } from './string-escape.js';
