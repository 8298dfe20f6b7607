export { useAuth, type AuthState } from './context';
export { AuthProvider, fetchRole } from './AuthProvider';
export { roleCan, type Action } from './permissions';
