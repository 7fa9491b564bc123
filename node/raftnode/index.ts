export { RaftNode, type RaftControl, type RaftLogStore, type RaftNodeHooks, type RaftNodeOptions } from "./raftnode.js";
