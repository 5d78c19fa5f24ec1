/** CLIXML (MS-PSRP 2.2.5): the public surface of the serializer and deserializer. */
export { deserializeClixml, deserializeObject } from './deserializer.js';
export type { DeserializeOptions } from './deserializer.js';
export { serializeClixml, serializeObject } from './serializer.js';
export type { SerializeOptions } from './serializer.js';
export { PS_META, createPSObject, psEnum, psList, psMeta } from './ps-object.js';
export type { ContainerKind, CreatePSObjectOptions, PSObjectMeta } from './ps-object.js';
export { PSDateTime, PSDecimal, PSDuration, PSEnumValue, PSSecureString, PSTypedValue, ps } from './values.js';
export type { PrimitiveTag, SecureStringCipher } from './values.js';
export { decodeClixmlString, encodeClixmlString } from './string-escape.js';
